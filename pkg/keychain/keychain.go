// Package keychain keeps secrets in the operating system's keychain: the
// desktop app's session token and cache key, and (if the operator asks)
// the server's master key. Where there is no keychain it says so: secrets
// are never written to a plain file instead.
package keychain

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/zalando/go-keyring"
)

// Service is the keychain service name of the desktop app's secrets, the
// default for OS.
const Service = "org.taiwa.desktop"

// ErrUnavailable means the system has no usable keychain (for example a
// Linux box without a Secret Service). The app then asks for the password
// at each start and keeps secrets only in memory.
var ErrUnavailable = errors.New("no system keychain available")

// ErrNotFound means the keychain has no such secret.
var ErrNotFound = keyring.ErrNotFound

// Store is what the app needs of a keychain. OS is the real one;
// Memory stands in when there is none.
type Store interface {
	Get(name string) (string, error)
	Set(name, value string) error
	Delete(name string) error
}

// OS is the operating system's keychain (macOS Keychain, Windows Credential Manager,
// Secret Service on Linux) through go-keyring, with a time limit: a locked
// desktop keyring can block a call indefinitely.
type OS struct {
	Service string // default Service
	Timeout time.Duration
}

func (k OS) service() string {
	if k.Service == "" {
		return Service
	}
	return k.Service
}

func (k OS) call(f func() error) error {
	timeout := k.Timeout
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		if err == nil || errors.Is(err, keyring.ErrNotFound) {
			return err
		}
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	case <-time.After(timeout):
		return fmt.Errorf("%w: the keychain did not answer within %s (is it locked?)", ErrUnavailable, timeout)
	}
}

// Get reads a secret.
func (k OS) Get(name string) (string, error) {
	var v string
	err := k.call(func() error {
		var err error
		v, err = keyring.Get(k.service(), name)
		return err
	})
	return v, err
}

// Set stores a secret.
func (k OS) Set(name, value string) error {
	return k.call(func() error { return keyring.Set(k.service(), name, value) })
}

// Delete removes a secret; a missing one is not an error.
func (k OS) Delete(name string) error {
	err := k.call(func() error { return keyring.Delete(k.service(), name) })
	if errors.Is(err, keyring.ErrNotFound) {
		return nil
	}
	return err
}

// Probe reports whether the keychain works, by writing, reading and
// deleting a throwaway secret.
func Probe(s Store) error {
	const name = "probe"
	if err := s.Set(name, "ok"); err != nil {
		return err
	}
	if v, err := s.Get(name); err != nil || v != "ok" {
		return fmt.Errorf("%w: read back failed: %v", ErrUnavailable, err)
	}
	return s.Delete(name)
}

// Memory keeps secrets for this run only: the fallback without a keychain.
type Memory struct{ m map[string]string }

// Get reads a secret.
func (m *Memory) Get(name string) (string, error) {
	v, ok := m.m[name]
	if !ok {
		return "", ErrNotFound
	}
	return v, nil
}

// Set stores a secret.
func (m *Memory) Set(name, value string) error {
	if m.m == nil {
		m.m = map[string]string{}
	}
	m.m[name] = value
	return nil
}

// Delete removes a secret.
func (m *Memory) Delete(name string) error { delete(m.m, name); return nil }

// CacheKey returns the cache encryption key stored under name, creating a
// random 256-bit one if there is none yet.
func CacheKey(s Store, name string) ([]byte, error) {
	v, err := s.Get(name)
	if err == nil {
		k, derr := base64.StdEncoding.DecodeString(v)
		if derr == nil && len(k) == 32 {
			return k, nil
		}
		return nil, fmt.Errorf("cache key in keychain is malformed")
	}
	if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	if err := s.Set(name, base64.StdEncoding.EncodeToString(k)); err != nil {
		return nil, err
	}
	return k, nil
}
