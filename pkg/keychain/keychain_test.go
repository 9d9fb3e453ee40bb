package keychain

import (
	"errors"
	"testing"

	"github.com/zalando/go-keyring"
)

func TestKeychainWithMock(t *testing.T) {
	keyring.MockInit()
	k := OS{}
	if err := Probe(k); err != nil {
		t.Fatalf("probe: %v", err)
	}
	if _, err := k.Get("token"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing secret: %v", err)
	}
	if err := k.Set("token", "abc"); err != nil {
		t.Fatal(err)
	}
	if v, err := k.Get("token"); err != nil || v != "abc" {
		t.Fatalf("get = %q, %v", v, err)
	}
	if err := k.Delete("token"); err != nil {
		t.Fatal(err)
	}
	if err := k.Delete("token"); err != nil {
		t.Fatalf("deleting a missing secret: %v", err)
	}
	key1, err := CacheKey(k, "cache-key")
	if err != nil || len(key1) != 32 {
		t.Fatalf("cache key: %v", err)
	}
	key2, _ := CacheKey(k, "cache-key")
	if string(key1) != string(key2) {
		t.Fatal("cache key not kept")
	}
}

// A headless Linux box: go-keyring fails with an exec error, which must
// surface as ErrUnavailable, never fall back to a file.
func TestKeychainUnavailable(t *testing.T) {
	keyring.MockInitWithError(errors.New(`exec: "dbus-launch": executable file not found in $PATH`))
	k := OS{}
	if err := Probe(k); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("probe = %v, want ErrUnavailable", err)
	}
	if _, err := CacheKey(k, "cache-key"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("cache key = %v", err)
	}
}

func TestMemory(t *testing.T) {
	var m Memory
	if err := Probe(&m); err != nil {
		t.Fatal(err)
	}
	k, err := CacheKey(&m, "k")
	if err != nil || len(k) != 32 {
		t.Fatal(err)
	}
}
