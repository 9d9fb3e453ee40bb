package kekdir

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, KeySize) }

func TestRotateAndDestroy(t *testing.T) {
	dir := t.TempDir()
	d, err := Open(dir, key(1))
	if err != nil {
		t.Fatal(err)
	}
	for e := int64(1); e <= 3; e++ {
		if err := d.Create(e); err != nil {
			t.Fatal(err)
		}
	}
	one, err := d.Box(1)
	if err != nil {
		t.Fatal(err)
	}
	sealed := one.Seal([]byte("a data key"), nil)
	// Creating an epoch again keeps its key (a rotation that stopped halfway).
	if err := d.Create(1); err != nil {
		t.Fatal(err)
	}
	if b, _ := d.Box(1); b != one {
		t.Fatal("a second Create replaced epoch 1's key")
	}
	// Another server (a fresh look at the directory) reads the same key.
	other, _ := Open(dir, key(1))
	if b, err := other.Box(1); err != nil {
		t.Fatal(err)
	} else if got, err := b.Open(sealed, nil); err != nil || string(got) != "a data key" {
		t.Fatalf("another server opens %q, %v", got, err)
	}
	if n, err := d.DestroyBelow(3); err != nil || n != 2 {
		t.Fatalf("destroyed %d, %v", n, err)
	}
	if es, _ := d.Epochs(); !slices.Equal(es, []int64{3}) {
		t.Fatalf("epochs left: %v", es)
	}
	other.Refresh()
	for _, dd := range []*Dir{d, other} {
		if _, err := dd.Box(1); !errors.Is(err, ErrDestroyed) {
			t.Fatalf("epoch 1 after its destruction: %v", err)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("files left: %v", entries)
	}
}

func TestWrongMasterKey(t *testing.T) {
	dir := t.TempDir()
	d, _ := Open(dir, key(1))
	if err := d.Create(1); err != nil {
		t.Fatal(err)
	}
	wrong, _ := Open(dir, key(2))
	if _, err := wrong.Box(1); err == nil || errors.Is(err, ErrDestroyed) {
		t.Fatalf("a wrong master key: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "kek-00000000000000000001")); len(b) <= KeySize {
		t.Fatalf("the file is %d bytes: not sealed", len(b))
	}
}
