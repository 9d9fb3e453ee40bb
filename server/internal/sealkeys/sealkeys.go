// Package sealkeys holds the keys that message bodies are sealed with, so
// that destroying a key erases what it sealed everywhere at once: in the
// database, in its free pages, in a backup or a forgotten copy.
//
// Every body is sealed with AES-256-GCM under a key derived (HKDF-SHA256)
// from two keys: its client's key, destroyed when the client is deleted,
// and the key of its retention slice (the hour its message expires in),
// destroyed when that hour has passed. Either destruction makes the body
// unreadable. Where the keys live is a Vault's business. By default it is
// their own SQLite file (FileVault), the keys wrapped (AES-256-GCM) by a
// master key that is never stored next to them by this package: a copy of
// the message database alone, or of the key file alone, reads nothing. A
// database that cannot scrub what it deletes (PostgreSQL keeps dead tuples
// and WAL) brings a vault of its own whose wrapping keys rotate and are
// destroyed outside it.
package sealkeys

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/taiwa-chat/taiwa/pkg/sealbox"
)

// SliceLength is the span of expiry times that share a slice key: a
// message's key is destroyed at most this long after the message expires.
const SliceLength = time.Hour

// DerivedCacheSize bounds how many derived body keys stay in memory (about
// 1 KB each); the rest are derived again from the client's and the
// slice's keys when needed (an HKDF, microseconds).
const DerivedCacheSize = 8192

// KeySize is the size of every key, the master key included.
const KeySize = 32

// ErrErased means a key the body needs has been destroyed: the body is
// gone for good.
var ErrErased = errors.New("erased: its key has been destroyed")

// Slice returns the retention slice of an expiry time: slice s holds the
// expiries in ((s-1)·SliceLength, s·SliceLength], and its key may be
// destroyed once s·SliceLength has passed.
func Slice(expires time.Time) int64 {
	n := SliceLength.Milliseconds()
	return (expires.UnixMilli() + n - 1) / n
}

// SliceEnd is when a slice's key may be destroyed.
func SliceEnd(slice int64) time.Time {
	return time.UnixMilli(slice * SliceLength.Milliseconds())
}

// Vault keeps the client and slice keys, wrapped as it sees fit. Kinds are
// "client" and "slice".
type Vault interface {
	// Load returns a stored key, or ErrErased if there is none.
	Load(kind string, id int64) ([]byte, error)
	// Create stores key durably unless a key is already stored under kind
	// and id (another server may have made it first), and returns the key
	// that is stored.
	Create(kind string, id int64, key []byte) ([]byte, error)
	// DestroyClient destroys a client's key.
	DestroyClient(id int64) error
	// DestroySlicesThrough destroys the keys of the slices up to last.
	DestroySlicesThrough(last int64) error
	// ClientIDs lists the clients that have a key.
	ClientIDs() ([]int64, error)
	// Count reports how many keys are stored.
	Count() (int, error)
	Close() error
}

// Ring seals and opens bodies with the keys of a Vault.
type Ring struct {
	vault  Vault
	master *sealbox.Box
	refKey []byte // HMAC key for idempotency refs, derived from the master key

	mu      sync.Mutex
	clients map[int64][]byte
	slices  map[int64][]byte
	// derived caches the body keys of recently used (client, slice) pairs.
	// Bounded: 10,000 clients writing across a week of hourly slices
	// would otherwise hold 1.7 million (about 1 KB each).
	derived *lru.Cache[[2]int64, *sealbox.Box]
}

// Open opens (creating if needed) the key file at path; master unwraps
// its keys.
func Open(path string, master []byte) (*Ring, error) {
	v, err := OpenFileVault(path, master)
	if err != nil {
		return nil, err
	}
	r, err := New(v, master)
	if err != nil {
		v.Close()
		return nil, err
	}
	return r, nil
}

// New makes a ring over a vault (which it closes with itself); master
// wraps small secrets (WrapSecret) and keys the idempotency-ref hash.
func New(v Vault, master []byte) (*Ring, error) {
	if len(master) != KeySize {
		return nil, fmt.Errorf("master key must be %d bytes, not %d", KeySize, len(master))
	}
	m, err := sealbox.New(master)
	if err != nil {
		return nil, err
	}
	refKey, err := hkdf.Key(sha256.New, master, nil, "taiwa idempotency ref", KeySize)
	if err != nil {
		return nil, fmt.Errorf("derive ref key: %w", err)
	}
	derived, err := lru.New[[2]int64, *sealbox.Box](DerivedCacheSize)
	if err != nil {
		return nil, err
	}
	return &Ring{vault: v, master: m, refKey: refKey, clients: map[int64][]byte{}, slices: map[int64][]byte{}, derived: derived}, nil
}

// Close closes the vault.
func (r *Ring) Close() error { return r.vault.Close() }

// Label binds a wrapped key to its kind and ID: moved to another, it does
// not open.
func Label(kind string, id int64) []byte {
	return []byte("taiwa key " + kind + " " + strconv.FormatInt(id, 10))
}

// key returns a key, creating (and durably storing) it if create is set.
// The caller holds r.mu.
func (r *Ring) key(kind string, id int64, create bool) ([]byte, error) {
	cache := r.clients
	if kind == "slice" {
		cache = r.slices
	}
	if k, ok := cache[id]; ok {
		return k, nil
	}
	k, err := r.vault.Load(kind, id)
	switch {
	case err == nil:
		cache[id] = k
		return k, nil
	case !errors.Is(err, ErrErased) || !create:
		return nil, err
	}
	fresh := make([]byte, KeySize)
	rand.Read(fresh)
	if k, err = r.vault.Create(kind, id, fresh); err != nil {
		return nil, err
	}
	cache[id] = k
	return k, nil
}

func (r *Ring) box(client, slice int64, create bool) (*sealbox.Box, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if a, ok := r.derived.Get([2]int64{client, slice}); ok {
		return a, nil
	}
	ck, err := r.key("client", client, create)
	if err != nil {
		return nil, err
	}
	sk, err := r.key("slice", slice, create)
	if err != nil {
		return nil, err
	}
	secret := append(append([]byte{}, ck...), sk...)
	k, err := hkdf.Key(sha256.New, secret, nil, "taiwa body "+strconv.FormatInt(client, 10)+" "+strconv.FormatInt(slice, 10), KeySize)
	if err != nil {
		return nil, fmt.Errorf("derive body key: %w", err)
	}
	a, err := sealbox.New(k)
	if err != nil {
		return nil, err
	}
	r.derived.Add([2]int64{client, slice}, a)
	return a, nil
}

// EnsureClient creates a client's key if it has none. Creating a key
// costs a durable write; doing it when the client is registered keeps it
// off the path of the client's first message.
func (r *Ring) EnsureClient(client int64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, err := r.key("client", client, true)
	return err
}

// EnsureSlice creates the key of the slice holding expires if it has none
// (the sweeper prepares the coming hours' keys ahead of the messages).
func (r *Ring) EnsureSlice(expires time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, err := r.key("slice", Slice(expires), true)
	return err
}

// Seal seals a client's body that expires at expires; aad binds it to its
// place (say, conversation and sequence number). It returns the slice to
// store with the blob. New keys are durable before Seal returns.
func (r *Ring) Seal(client int64, expires time.Time, body, aad []byte) (slice int64, blob []byte, err error) {
	slice = Slice(expires)
	a, err := r.box(client, slice, true)
	if err != nil {
		return 0, nil, err
	}
	return slice, a.Seal(body, aad), nil
}

// Open unseals a body; ErrErased if its client's or slice's key is gone.
func (r *Ring) Open(client, slice int64, blob, aad []byte) ([]byte, error) {
	a, err := r.box(client, slice, false)
	if err != nil {
		return nil, err
	}
	b, err := a.Open(blob, aad)
	if err != nil {
		return nil, fmt.Errorf("open sealed body: %w", err)
	}
	return b, nil
}

// DestroyClient destroys a client's key, erasing all its bodies.
func (r *Ring) DestroyClient(client int64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.forgetClient(client)
	return r.vault.DestroyClient(client)
}

// ForgetClient drops a client's key from memory only: it was destroyed in
// the vault by another server (or in the deleting transaction).
func (r *Ring) ForgetClient(client int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.forgetClient(client)
}

func (r *Ring) forgetClient(client int64) {
	delete(r.clients, client)
	for _, k := range r.derived.Keys() {
		if k[0] == client {
			r.derived.Remove(k)
		}
	}
}

// DestroySlicesEndedBy destroys the key of every slice whose end is at or
// before now, erasing every body that expired by then.
func (r *Ring) DestroySlicesEndedBy(now time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.forgetSlices(LastEnded(now))
	return r.vault.DestroySlicesThrough(LastEnded(now))
}

// ForgetSlicesEndedBy drops from memory the keys of the slices ended by
// now, which another server destroys in the vault.
func (r *Ring) ForgetSlicesEndedBy(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.forgetSlices(LastEnded(now))
}

// LastEnded is the last slice whose end is at or before now.
func LastEnded(now time.Time) int64 { return now.UnixMilli() / SliceLength.Milliseconds() }

func (r *Ring) forgetSlices(last int64) {
	for s := range r.slices {
		if s <= last {
			delete(r.slices, s)
		}
	}
	for _, k := range r.derived.Keys() {
		if k[1] <= last {
			r.derived.Remove(k)
		}
	}
}

// DestroyClientsExcept destroys the key of every client not in keep: the
// clean-up after a deletion interrupted between the database's commit and
// the key's destruction.
func (r *Ring) DestroyClientsExcept(keep map[int64]bool) error {
	ids, err := r.vault.ClientIDs()
	if err != nil {
		return err
	}
	for _, id := range ids {
		if !keep[id] {
			if err := r.DestroyClient(id); err != nil {
				return err
			}
		}
	}
	return nil
}

// NewMasterKey returns a fresh random master key.
func NewMasterKey() []byte {
	k := make([]byte, KeySize)
	rand.Read(k)
	return k
}

// LoadOrCreate reads a master key file (KeySize raw bytes), creating it
// with a fresh key, readable by its owner only, if it does not exist.
func LoadOrCreate(path string) ([]byte, error) {
	k, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		k = NewMasterKey()
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("create master key %s: %w", path, err)
		}
		if _, err := f.Write(k); err != nil {
			f.Close()
			return nil, fmt.Errorf("write master key %s: %w", path, err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, fmt.Errorf("write master key %s: %w", path, err)
		}
		if err := f.Close(); err != nil {
			return nil, fmt.Errorf("write master key %s: %w", path, err)
		}
		return k, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read master key %s: %w", path, err)
	}
	if len(k) != KeySize {
		return nil, fmt.Errorf("master key %s: %d bytes, want %d", path, len(k), KeySize)
	}
	return k, nil
}

// WrapSecret seals a small secret (a TOTP seed, say) under the master key,
// bound to label; it is stored in the database, useless without the key.
func (r *Ring) WrapSecret(label string, secret []byte) []byte {
	return r.master.Seal(secret, []byte("taiwa secret "+label))
}

// UnwrapSecret opens what WrapSecret sealed under the same label.
func (r *Ring) UnwrapSecret(label string, wrapped []byte) ([]byte, error) {
	b, err := r.master.Open(wrapped, []byte("taiwa secret "+label))
	if err != nil {
		return nil, fmt.Errorf("unwrap secret: %w", err)
	}
	return b, nil
}

// HashRef is what the database keeps of a sender's idempotency ref: a
// keyed hash, so that a ref with meaning leaks nothing into the database
// or its backups, while a resent ref still finds its message.
func (r *Ring) HashRef(sender int64, ref string) []byte {
	m := hmac.New(sha256.New, r.refKey)
	m.Write([]byte(strconv.FormatInt(sender, 10)))
	m.Write([]byte{0})
	m.Write([]byte(ref))
	return m.Sum(nil)
}

// CountKeys reports how many keys the vault holds.
func (r *Ring) CountKeys() (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.vault.Count()
}

// StreamBox returns the box that seals a client's file expiring at
// expires (an attachment, sealed in chunks with sealbox.NewWriter) and the
// slice to store with it: the same keys as the client's message bodies,
// so that destroying either erases the file too.
func (r *Ring) StreamBox(client int64, expires time.Time) (slice int64, b *sealbox.Box, err error) {
	slice = Slice(expires)
	b, err = r.box(client, slice, true)
	return slice, b, err
}

// OpenBox returns the box that opens a file sealed with StreamBox;
// ErrErased if its client's or slice's key is gone.
func (r *Ring) OpenBox(client, slice int64) (*sealbox.Box, error) {
	return r.box(client, slice, false)
}
