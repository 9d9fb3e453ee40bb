// Package kekdir keeps key-encryption keys (KEKs) in a directory of
// their own, one file per epoch, each sealed by the master key.
//
// A database that cannot scrub what it deletes (PostgreSQL keeps deleted
// rows in dead tuples until they are overwritten, and in its WAL and
// backups) wraps its message keys under the current epoch's KEK and
// rotates: every live key is wrapped again under the next epoch, and the
// older epochs' files are destroyed. A message key deleted from the
// database then stays readable in no copy of it, whatever that copy
// holds, once the epochs it was ever wrapped under are gone. That holds
// only if the directory itself is not copied: it lives outside the
// database and its backups.
package kekdir

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/taiwa-chat/taiwa/pkg/sealbox"
)

// KeySize is the size of a KEK and of the master key.
const KeySize = 32

// ErrDestroyed means an epoch's KEK is not in the directory (destroyed,
// or never made here).
var ErrDestroyed = errors.New("key-encryption key destroyed")

const prefix = "kek-"

// Dir is an open KEK directory.
type Dir struct {
	path   string
	master *sealbox.Box

	mu    sync.Mutex
	boxes map[int64]*sealbox.Box
}

// Open opens (creating if needed, mode 0700) the directory at path.
func Open(path string, master []byte) (*Dir, error) {
	if len(master) != KeySize {
		return nil, fmt.Errorf("master key must be %d bytes, not %d", KeySize, len(master))
	}
	m, err := sealbox.New(master)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(path, 0o700); err != nil {
		return nil, fmt.Errorf("key-encryption key directory: %w", err)
	}
	return &Dir{path: path, master: m, boxes: map[int64]*sealbox.Box{}}, nil
}

// Path is the directory.
func (d *Dir) Path() string { return d.path }

func (d *Dir) file(epoch int64) string {
	return filepath.Join(d.path, fmt.Sprintf("%s%020d", prefix, epoch))
}

func label(epoch int64) []byte { return []byte("taiwa kek " + strconv.FormatInt(epoch, 10)) }

// Box returns the AEAD of an epoch's KEK; ErrDestroyed if its file is gone.
func (d *Dir) Box(epoch int64) (*sealbox.Box, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if b, ok := d.boxes[epoch]; ok {
		return b, nil
	}
	sealed, err := os.ReadFile(d.file(epoch))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("epoch %d: %w", epoch, ErrDestroyed)
	}
	if err != nil {
		return nil, fmt.Errorf("read key-encryption key %d: %w", epoch, err)
	}
	k, err := d.master.Open(sealed, label(epoch))
	if err != nil {
		return nil, fmt.Errorf("key-encryption key %d: %w (is this the right master key?)", epoch, err)
	}
	b, err := sealbox.New(k)
	if err != nil {
		return nil, err
	}
	d.boxes[epoch] = b
	return b, nil
}

// Create makes an epoch's KEK, durably, unless its file exists already (a
// rotation that stopped halfway left it, unused).
func (d *Dir) Create(epoch int64) error {
	if _, err := d.Box(epoch); err == nil {
		return nil
	} else if !errors.Is(err, ErrDestroyed) {
		return err
	}
	k := make([]byte, KeySize)
	rand.Read(k)
	tmp, err := os.CreateTemp(d.path, ".new-")
	if err != nil {
		return fmt.Errorf("create key-encryption key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(d.master.Seal(k, label(epoch))); err != nil {
		tmp.Close()
		return fmt.Errorf("write key-encryption key: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write key-encryption key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write key-encryption key: %w", err)
	}
	// Link, not rename: of two servers creating the same epoch at once,
	// the first file wins and the other takes it.
	if err := os.Link(tmp.Name(), d.file(epoch)); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("store key-encryption key %d: %w", epoch, err)
	}
	return d.syncDir()
}

func (d *Dir) syncDir() error {
	f, err := os.Open(d.path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync key-encryption key directory: %w", err)
	}
	return nil
}

// Epochs lists the epochs whose KEK is in the directory, oldest first.
func (d *Dir) Epochs() ([]int64, error) {
	entries, err := os.ReadDir(d.path)
	if err != nil {
		return nil, fmt.Errorf("list key-encryption keys: %w", err)
	}
	var out []int64
	for _, e := range entries {
		if n, ok := strings.CutPrefix(e.Name(), prefix); ok {
			if v, err := strconv.ParseInt(n, 10, 64); err == nil {
				out = append(out, v)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// DestroyBelow destroys the KEK of every epoch before epoch: each file is
// overwritten with zeros and synced before it is removed (on a file system
// that writes in place, the key's blocks then hold zeros), and forgotten.
// It reports how many it destroyed.
func (d *Dir) DestroyBelow(epoch int64) (int, error) {
	epochs, err := d.Epochs()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range epochs {
		if e >= epoch {
			break
		}
		if err := wipe(d.file(e)); err != nil {
			return n, fmt.Errorf("destroy key-encryption key %d: %w", e, err)
		}
		d.mu.Lock()
		delete(d.boxes, e)
		d.mu.Unlock()
		n++
	}
	if n > 0 {
		return n, d.syncDir()
	}
	return 0, nil
}

// Refresh forgets the epochs whose files another server destroyed.
func (d *Dir) Refresh() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for e := range d.boxes {
		if _, err := os.Stat(d.file(e)); errors.Is(err, os.ErrNotExist) {
			delete(d.boxes, e)
		}
	}
}

func wipe(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil // another server destroyed it first
	}
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err == nil {
		_, err = f.WriteAt(make([]byte, fi.Size()), 0)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
