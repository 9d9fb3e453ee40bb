// Package attachfiles keeps attachments' content on disk, sealed in
// chunks (sealbox.NewWriter) under the keys of the client the file belongs
// to: the store decides who may write and read a file and keeps its row;
// this package only streams bytes in and out of one directory, never
// holding a whole file in memory and never writing a plain copy.
//
// A file is written under a random name, renamed into place once complete
// and durable, and referred to by its row. Prune removes the files whose
// rows are gone (a deleted message or client, an expired or abandoned
// upload) — the rows' deletion is the decision, the files follow.
package attachfiles

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/pkg/sealbox"
)

// ErrTooLarge means the upload passed its limit (nothing of it is kept).
var ErrTooLarge = errors.New("attachment too large")

// ErrType means the content is none of the types Taiwa takes.
var ErrType = errors.New("attachment type not accepted")

// Settle is how old a file without a row must be before Prune removes it:
// a file is renamed into place just before its row is committed.
const Settle = 10 * time.Minute

// partSuffix marks a file still being written.
const partSuffix = ".part"

// Dir is a directory of sealed attachment files.
type Dir struct{ path string }

// Open opens (creating, readable by its owner only) the directory.
func Open(path string) (*Dir, error) {
	if err := os.MkdirAll(path, 0o700); err != nil {
		return nil, fmt.Errorf("attachment directory: %w", err)
	}
	return &Dir{path: path}, nil
}

// Path is the directory's path.
func (d *Dir) Path() string { return d.path }

// Label binds a sealed file to its name: a file copied under another
// name does not open.
func Label(name string) []byte { return []byte("taiwa attachment " + name) }

// NewName returns a fresh random file name.
func NewName() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// valid reports whether name is one NewName makes (never a path).
func valid(name string) bool {
	if len(name) != 32 {
		return false
	}
	_, err := hex.DecodeString(name)
	return err == nil
}

// Written is what Write stored.
type Written struct {
	Type string
	Size int64
}

// Write streams r, sealed under box, into the file name, refusing content
// of a type Taiwa does not take (decided on the first bytes, before
// anything is written) and stopping as soon as more than limit bytes have
// come. The file is synced and in place when Write returns; on any error
// nothing of it stays.
func (d *Dir) Write(name string, box *sealbox.Box, r io.Reader, limit int64) (w Written, err error) {
	if !valid(name) {
		return w, fmt.Errorf("attachment file name %q", name)
	}
	head := make([]byte, protocol.AttachmentSniffLen)
	n, err := io.ReadFull(r, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return w, fmt.Errorf("read upload: %w", err)
	}
	head = head[:n]
	if w.Type = protocol.DetectAttachmentType(head); w.Type == "" {
		return w, ErrType
	}
	part := filepath.Join(d.path, name+partSuffix)
	f, err := os.OpenFile(part, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return w, fmt.Errorf("create attachment file: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(part)
		}
	}()
	sw := sealbox.NewWriter(f, box, Label(name))
	// One byte past the limit tells a file of exactly limit bytes from a
	// larger one without reading the rest.
	copied, err := io.Copy(sw, io.MultiReader(bytesReader(head), io.LimitReader(r, limit+1-int64(len(head)))))
	if err != nil {
		return w, fmt.Errorf("write attachment: %w", err)
	}
	if copied > limit {
		return w, ErrTooLarge
	}
	if err := sw.Close(); err != nil {
		return w, fmt.Errorf("write attachment: %w", err)
	}
	if err := f.Sync(); err != nil {
		return w, fmt.Errorf("sync attachment: %w", err)
	}
	if err := f.Close(); err != nil {
		return w, fmt.Errorf("close attachment: %w", err)
	}
	if err := os.Rename(part, filepath.Join(d.path, name)); err != nil {
		return w, fmt.Errorf("place attachment: %w", err)
	}
	w.Size = copied
	return w, nil
}

type byteReader struct{ b []byte }

func (b *byteReader) Read(p []byte) (int, error) {
	if len(b.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, b.b)
	b.b = b.b[n:]
	return n, nil
}

func bytesReader(b []byte) io.Reader { return &byteReader{b} }

// File is an opened attachment: its plain content, read a chunk at a
// time.
type File struct {
	f *os.File
	r *sealbox.Reader
}

func (f *File) Read(p []byte) (int, error) { return f.r.Read(p) }

// Close closes the file.
func (f *File) Close() error { return f.f.Close() }

// Open opens the file name under box. A missing file is os.ErrNotExist.
func (d *Dir) Open(name string, box *sealbox.Box) (*File, error) {
	if !valid(name) {
		return nil, fmt.Errorf("attachment file name %q: %w", name, os.ErrNotExist)
	}
	f, err := os.Open(filepath.Join(d.path, name))
	if err != nil {
		return nil, fmt.Errorf("open attachment: %w", err)
	}
	return &File{f: f, r: sealbox.NewReader(f, box, Label(name))}, nil
}

// Remove deletes files now (a deleting transaction has committed); a
// file already gone is no error.
func (d *Dir) Remove(names ...string) error {
	var errs []error
	for _, n := range names {
		if !valid(n) {
			continue
		}
		if err := os.Remove(filepath.Join(d.path, n)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Prune removes every file whose name keep does not hold, unless it was
// written within Settle of now (its row may be about to commit). It
// returns how many it removed.
func (d *Dir) Prune(keep func(name string) bool, now time.Time) (int, error) {
	entries, err := os.ReadDir(d.path)
	if err != nil {
		return 0, fmt.Errorf("list attachments: %w", err)
	}
	removed := 0
	var errs []error
	for _, e := range entries {
		name := e.Name()
		base := strings.TrimSuffix(name, partSuffix)
		if !valid(base) || (name == base && keep(base)) {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // gone meanwhile
		}
		if now.Sub(info.ModTime()) < Settle {
			continue
		}
		if err := os.Remove(filepath.Join(d.path, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		removed++
	}
	return removed, errors.Join(errs...)
}
