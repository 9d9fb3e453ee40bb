package main

import (
	"encoding/binary"
	"testing"
)

func TestFixedFileVersion(t *testing.T) {
	b := make([]byte, 96)
	copy(b[40:], []byte{0xbd, 0x04, 0xef, 0xfe})
	binary.LittleEndian.PutUint32(b[48:], 0<<16|1)  // 0.1
	binary.LittleEndian.PutUint32(b[52:], 0<<16|12) // .0.12
	got, err := fixedFileVersion(b)
	if err != nil || got != "0.1.0.12" {
		t.Fatalf("got %q, %v", got, err)
	}
	if _, err := fixedFileVersion(make([]byte, 64)); err == nil {
		t.Fatal("no signature, no error")
	}
}

// A Linux program is refused: not a PE file.
func TestRefusesWhatIsNotAWindowsProgram(t *testing.T) {
	if _, err := check("/bin/sh", "", false); err == nil {
		t.Fatal("accepted /bin/sh")
	}
}
