package sealkeys

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func openRing(t *testing.T, path string, master []byte) *Ring {
	t.Helper()
	r, err := Open(path, master)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func TestSealOpenAndErase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.db")
	master := NewMasterKey()
	r := openRing(t, path, master)
	now := time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC)
	soon, later := now.Add(90*time.Minute), now.Add(7*24*time.Hour)

	type sealed struct {
		client, slice int64
		blob          []byte
	}
	seal := func(client int64, expires time.Time, body string) sealed {
		t.Helper()
		s, b, err := r.Seal(client, expires, []byte(body), []byte("conv 1 seq 1"))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(body)) {
			t.Fatal("body in the clear")
		}
		return sealed{client, s, b}
	}
	open := func(s sealed) ([]byte, error) {
		return r.Open(s.client, s.slice, s.blob, []byte("conv 1 seq 1"))
	}
	a1 := seal(1, soon, "client 1, soon")
	a2 := seal(1, later, "client 1, later")
	b1 := seal(2, soon, "client 2, soon")
	for _, s := range []sealed{a1, a2, b1} {
		if _, err := open(s); err != nil {
			t.Fatalf("open: %v", err)
		}
	}
	if _, err := r.Open(a1.client, a1.slice, a1.blob, []byte("conv 1 seq 2")); err == nil {
		t.Fatal("a body opened in another place")
	}

	// A reopened ring (a restart) reads the same keys.
	r.Close()
	r = openRing(t, path, master)
	if b, err := open(a2); err != nil || string(b) != "client 1, later" {
		t.Fatalf("after reopening: %q %v", b, err)
	}

	// Deleting client 1 erases both of its bodies, not client 2's.
	if err := r.DestroyClient(1); err != nil {
		t.Fatal(err)
	}
	for _, s := range []sealed{a1, a2} {
		if _, err := open(s); !errors.Is(err, ErrErased) {
			t.Fatalf("client 1's body after deletion: %v", err)
		}
	}
	if _, err := open(b1); err != nil {
		t.Fatalf("client 2's body: %v", err)
	}
	// The slice of "soon" ends within two hours; then client 2's body goes too.
	if err := r.DestroySlicesEndedBy(soon); err != nil {
		t.Fatal(err)
	}
	if _, err := open(b1); err != nil {
		t.Fatalf("destroyed a slice before its end: %v", err)
	}
	if err := r.DestroySlicesEndedBy(SliceEnd(b1.slice)); err != nil {
		t.Fatal(err)
	}
	if _, err := open(b1); !errors.Is(err, ErrErased) {
		t.Fatalf("body after its slice ended: %v", err)
	}
}

func TestWrongMasterKeyRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.db")
	r := openRing(t, path, NewMasterKey())
	r.Close() // even before the first key: a server must not start with the wrong one
	if _, err := Open(path, NewMasterKey()); err == nil {
		t.Fatal("opened with another master key")
	}
	if _, err := Open(path, []byte("short")); err == nil {
		t.Fatal("accepted a short master key")
	}
}

// The key file holds keys only wrapped: no raw key is in it.
func TestKeysWrappedAtRest(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keys.db")
	r := openRing(t, path, NewMasterKey())
	if _, _, err := r.Seal(7, time.Now().Add(time.Hour), []byte("x"), nil); err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	raw := [][]byte{r.clients[7]}
	for _, k := range r.slices {
		raw = append(raw, k)
	}
	r.mu.Unlock()
	r.vault.(*FileVault).db.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
	for _, name := range []string{"keys.db", "keys.db-wal"} {
		b, _ := os.ReadFile(filepath.Join(dir, name))
		for _, k := range raw {
			if len(k) != KeySize || bytes.Contains(b, k) {
				t.Fatalf("raw key in %s", name)
			}
		}
	}
}

func TestSliceBounds(t *testing.T) {
	base := time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC)
	tests := []struct {
		expires time.Time
		end     time.Time
	}{
		{base, base},
		{base.Add(time.Millisecond), base.Add(time.Hour)},
		{base.Add(59 * time.Minute), base.Add(time.Hour)},
	}
	for _, tt := range tests {
		s := Slice(tt.expires)
		if !SliceEnd(s).Equal(tt.end) || SliceEnd(s).Before(tt.expires) {
			t.Errorf("Slice(%v) ends %v, want %v", tt.expires, SliceEnd(s), tt.end)
		}
	}
}

// The cache of derived keys stays bounded however many (client, hour)
// pairs are written, and what it has let go of still opens.
func TestDerivedKeysBounded(t *testing.T) {
	r := openRing(t, filepath.Join(t.TempDir(), "keys.db"), NewMasterKey())
	base := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	type sealed struct {
		client, slice int64
		blob          []byte
	}
	var first sealed
	for i := range DerivedCacheSize + 500 {
		client := int64(i%100 + 1)
		exp := base.Add(time.Duration(i/100) * SliceLength)
		slice, blob, err := r.Seal(client, exp, []byte("眠れない"), []byte("aad"))
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = sealed{client, slice, blob}
		}
	}
	if n := r.derived.Len(); n > DerivedCacheSize {
		t.Fatalf("%d derived keys in memory, bound %d", n, DerivedCacheSize)
	}
	if got, err := r.Open(first.client, first.slice, first.blob, []byte("aad")); err != nil || string(got) != "眠れない" {
		t.Fatalf("an evicted pair no longer opens: %q %v", got, err)
	}
}
