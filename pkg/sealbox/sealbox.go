// Package sealbox seals small values with AES-256-GCM, a fresh random
// nonce stored in front of the ciphertext, bound to a label (the
// additional data) so that a value moved to another row does not open.
// It is the one format the server's sealing keys and the desktop's cache
// store.
package sealbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
)

// KeySize is the size of a key.
const KeySize = 32

// ErrShort means the sealed value is too short to hold a nonce.
var ErrShort = errors.New("sealed value too short")

// Box seals and opens under one key. It is safe for concurrent use.
type Box struct{ aead cipher.AEAD }

// New makes a Box for a KeySize-byte key.
func New(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("sealbox: key must be %d bytes, not %d", KeySize, len(key))
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("sealbox: %w", err)
	}
	g, err := cipher.NewGCM(b)
	if err != nil {
		return nil, fmt.Errorf("sealbox: %w", err)
	}
	return &Box{aead: g}, nil
}

// Seal encrypts plain bound to label.
func (b *Box) Seal(plain, label []byte) []byte {
	ns := b.aead.NonceSize()
	nonce := make([]byte, ns, ns+len(plain)+b.aead.Overhead())
	rand.Read(nonce) // never fails (crypto/rand)
	return b.aead.Seal(nonce, nonce, plain, label)
}

// Open decrypts what Seal made under the same key and label.
func (b *Box) Open(sealed, label []byte) ([]byte, error) {
	ns := b.aead.NonceSize()
	if len(sealed) < ns {
		return nil, ErrShort
	}
	return b.aead.Open(nil, sealed[:ns], sealed[ns:], label)
}
