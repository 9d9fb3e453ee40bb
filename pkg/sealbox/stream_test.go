package sealbox

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"testing"
)

func newBox(t *testing.T) *Box {
	t.Helper()
	k := make([]byte, KeySize)
	rand.Read(k)
	b, err := New(k)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func seal(t *testing.T, b *Box, label string, plain []byte, writes int) []byte {
	t.Helper()
	var out bytes.Buffer
	w := NewWriter(&out, b, []byte(label))
	step := len(plain)/writes + 1
	for i := 0; i < len(plain); i += step {
		if _, err := w.Write(plain[i:min(i+step, len(plain))]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestStreamRoundTrip(t *testing.T) {
	b := newBox(t)
	for _, tt := range []struct {
		name   string
		size   int
		writes int
	}{
		{"empty", 0, 1},
		{"small", 10, 1},
		{"one chunk exactly", ChunkSize, 1},
		{"chunk and a byte", ChunkSize + 1, 3},
		{"many chunks", 5*ChunkSize + 123, 7},
		{"many exact chunks", 3 * ChunkSize, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			plain := make([]byte, tt.size)
			rand.Read(plain)
			sealed := seal(t, b, "a", plain, tt.writes)
			if tt.size > 16 && bytes.Contains(sealed, plain[:16]) {
				t.Fatal("plain text visible in the sealed stream")
			}
			got, err := io.ReadAll(NewReader(bytes.NewReader(sealed), b, []byte("a")))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, plain) {
				t.Fatalf("got %d bytes back, want %d equal", len(got), len(plain))
			}
		})
	}
}

func TestStreamRefusesTampering(t *testing.T) {
	b := newBox(t)
	plain := make([]byte, 3*ChunkSize+5)
	rand.Read(plain)
	sealed := seal(t, b, "a", plain, 1)
	chunk := 4 + 4 + ChunkSize + 28 // magic, length, sealed chunk
	for _, tt := range []struct {
		name      string
		stream    []byte
		label     string
		truncated bool
	}{
		{"other label", sealed, "b", false},
		{"last chunk dropped", sealed[:4+3*chunk], "a", true},
		{"cut inside a chunk", sealed[:4+chunk+100], "a", true},
		{"bit flipped", flip(sealed, 4+chunk+50), "a", false},
		{"chunks swapped", swap(sealed, chunk), "a", false},
		{"not a stream", []byte("hello world"), "a", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := io.ReadAll(NewReader(bytes.NewReader(tt.stream), b, []byte(tt.label)))
			if err == nil {
				t.Fatal("opened")
			}
			if tt.truncated != errors.Is(err, ErrTruncated) {
				t.Fatalf("err %v, truncated want %v", err, tt.truncated)
			}
		})
	}
}

func flip(b []byte, i int) []byte {
	c := append([]byte{}, b...)
	c[i] ^= 1
	return c
}

func swap(b []byte, chunk int) []byte {
	c := append([]byte{}, b...)
	first, second := 4, 4+chunk
	copy(c[first:], b[second:second+chunk])
	copy(c[second:], b[first:first+chunk])
	return c
}
