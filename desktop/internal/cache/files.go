package cache

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/taiwa-chat/taiwa/pkg/sealbox"
)

// Attachments' content (issue 14) lives beside the database in FilesDir,
// one file per attachment (and one per thumbnail), sealed in chunks under
// the cache's key and bound to the attachment's ID. A file is kept only
// while a cached message carries its attachment: every deletion of
// messages (the server's, the expiry timer's, a wipe) removes the files
// no message refers to any more, on the same schedule as the words.

// FilesDir is the directory of attachment files inside the cache's.
const FilesDir = "files"

// ErrNoFile means the cache does not hold that attachment (yet).
var ErrNoFile = errors.New("attachment not in the cache")

func (c *Cache) filesDir() string { return filepath.Join(c.dir, FilesDir) }

func fileName(id int64, thumb bool) string {
	n := strconv.FormatInt(id, 10)
	if thumb {
		return n + ".thumb"
	}
	return n
}

func fileLabel(id int64, thumb bool) []byte {
	return []byte("taiwa desktop " + fileName(id, thumb))
}

// StoreFile streams an attachment's content into the cache, sealed; it
// is in place only once whole (a download cut short leaves nothing).
func (c *Cache) StoreFile(id int64, r io.Reader) error { return c.storeFile(id, false, r) }

// StoreThumb keeps an attachment's thumbnail (a small PNG), sealed.
func (c *Cache) StoreThumb(id int64, png []byte) error {
	return c.storeFile(id, true, strings.NewReader(string(png)))
}

func (c *Cache) storeFile(id int64, thumb bool, r io.Reader) (err error) {
	if c.isClosed() {
		return errClosed
	}
	if err := os.MkdirAll(c.filesDir(), 0o700); err != nil {
		return fmt.Errorf("cache: files directory: %w", err)
	}
	final := filepath.Join(c.filesDir(), fileName(id, thumb))
	f, err := os.CreateTemp(c.filesDir(), "part-*")
	if err != nil {
		return fmt.Errorf("cache: store file: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	w := sealbox.NewWriter(f, c.box, fileLabel(id, thumb))
	if _, err := io.Copy(w, r); err != nil {
		return fmt.Errorf("cache: store file: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("cache: store file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("cache: store file: %w", err)
	}
	// Placed under the lock: a wipe that closed the cache meanwhile (the
	// session ended during a download) must find nothing put back.
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errClosed
	}
	if err := os.Rename(f.Name(), final); err != nil {
		return fmt.Errorf("cache: store file: %w", err)
	}
	return nil
}

var errClosed = errors.New("cache: closed")

func (c *Cache) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// OpenFile opens a cached attachment's content (ErrNoFile if not held).
func (c *Cache) OpenFile(id int64) (io.ReadCloser, error) { return c.openFile(id, false) }

// Thumb returns a cached thumbnail (ErrNoFile if not held).
func (c *Cache) Thumb(id int64) ([]byte, error) {
	rc, err := c.openFile(id, true)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("cache: read thumbnail: %w", err)
	}
	return b, nil
}

type sealedFile struct {
	f *os.File
	r *sealbox.Reader
}

func (s *sealedFile) Read(p []byte) (int, error) { return s.r.Read(p) }
func (s *sealedFile) Close() error               { return s.f.Close() }

func (c *Cache) openFile(id int64, thumb bool) (io.ReadCloser, error) {
	f, err := os.Open(filepath.Join(c.filesDir(), fileName(id, thumb)))
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNoFile
	}
	if err != nil {
		return nil, fmt.Errorf("cache: open file: %w", err)
	}
	return &sealedFile{f: f, r: sealbox.NewReader(f, c.box, fileLabel(id, thumb))}, nil
}

// pruneFiles removes every file no cached message carries (and any part
// of a download that stopped).
func (c *Cache) pruneFiles() error {
	entries, err := os.ReadDir(c.filesDir())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cache: list files: %w", err)
	}
	rows, err := c.db.Query("SELECT attachment_id FROM messages WHERE attachment_id IS NOT NULL")
	if err != nil {
		return fmt.Errorf("cache: list attachments: %w", err)
	}
	keep := map[string]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return fmt.Errorf("cache: list attachments: %w", err)
		}
		keep[fileName(id, false)], keep[fileName(id, true)] = true, true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("cache: list attachments: %w", err)
	}
	var errs []error
	for _, e := range entries {
		// A part is a download in progress (removed at the next start or
		// wipe if it never finishes).
		if keep[e.Name()] || strings.HasPrefix(e.Name(), "part-") {
			continue
		}
		if err := os.Remove(filepath.Join(c.filesDir(), e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// removeFiles deletes the whole files directory (wipe).
func (c *Cache) removeFiles() error {
	if err := os.RemoveAll(c.filesDir()); err != nil {
		return fmt.Errorf("cache: remove files: %w", err)
	}
	return nil
}
