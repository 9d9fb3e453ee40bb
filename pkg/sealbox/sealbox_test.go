package sealbox

import (
	"bytes"
	"testing"
)

func TestSealOpen(t *testing.T) {
	key := bytes.Repeat([]byte{7}, KeySize)
	b, err := New(key)
	if err != nil {
		t.Fatal(err)
	}
	plain := []byte("こんにちは")
	s1, s2 := b.Seal(plain, []byte("row 1")), b.Seal(plain, []byte("row 1"))
	if bytes.Equal(s1, s2) || bytes.Contains(s1, plain) {
		t.Fatal("the same value sealed twice looks the same, or shows through")
	}
	if got, err := b.Open(s1, []byte("row 1")); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("open: %q %v", got, err)
	}
	other, _ := New(bytes.Repeat([]byte{8}, KeySize))
	tampered := append([]byte{}, s1...)
	tampered[len(tampered)-1] ^= 1
	for name, open := range map[string]func() ([]byte, error){
		"another label": func() ([]byte, error) { return b.Open(s1, []byte("row 2")) },
		"another key":   func() ([]byte, error) { return other.Open(s1, []byte("row 1")) },
		"tampered":      func() ([]byte, error) { return b.Open(tampered, []byte("row 1")) },
		"too short":     func() ([]byte, error) { return b.Open(s1[:5], []byte("row 1")) },
	} {
		if _, err := open(); err == nil {
			t.Errorf("%s opened", name)
		}
	}
	if _, err := New(key[:16]); err == nil {
		t.Error("a 16-byte key was taken")
	}
}
