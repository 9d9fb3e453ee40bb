package cache

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// anyFileContains reports which files under dir (the database, its log,
// the attachment files) contain b.
func anyFileContains(t *testing.T, dir string, b []byte) []string {
	t.Helper()
	var hits []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(data, b) {
			hits = append(hits, path)
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return hits
}

func withFile(f *protocol.MessageFrame, id int64) *protocol.MessageFrame {
	f.Message.Attachment = &protocol.Attachment{ID: id, Type: protocol.TypeJPEG, Size: 1000}
	return f
}

// canaryPhoto is a photo's bytes with a marker in the middle.
func canaryPhoto(marker string) []byte {
	b := make([]byte, 200_000)
	rand.Read(b)
	copy(b, "\xff\xd8\xff\xe0")
	copy(b[100_000:], marker)
	return b
}

// The deletion canary for the desktop's files: a downloaded photo and its
// thumbnail are sealed at rest and go with their message, whichever way
// the message goes (the server's deletion, the expiry timer, the
// conversation's deletion, a wipe).
func TestAttachmentFilesGoWithTheirMessage(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for _, how := range []string{"server deletion", "expiry", "conversation deleted", "wipe"} {
		t.Run(how, func(t *testing.T) {
			dir := t.TempDir()
			clock := func() time.Time { return now }
			c := openTest(t, dir, clock)
			marker := "CANARY-desktop-photo-" + how
			photo := canaryPhoto(marker)
			if err := c.ApplyAll([]protocol.ServerFrame{welcome(1, protocol.Conversation{ID: 3, ClientID: 7}),
				withFile(msg(10, 3, 1, "写真です", now.Add(time.Hour)), 55),
				withFile(msg(11, 3, 2, "もう一枚", now.Add(48*time.Hour)), 56)}); err != nil {
				t.Fatal(err)
			}
			for id, content := range map[int64][]byte{55: photo, 56: canaryPhoto("other")} {
				if err := c.StoreFile(id, bytes.NewReader(content)); err != nil {
					t.Fatal(err)
				}
			}
			if err := c.StoreThumb(55, []byte("THUMB-"+marker)); err != nil {
				t.Fatal(err)
			}
			for _, m := range []string{marker, "THUMB-" + marker} {
				if hits := anyFileContains(t, dir, []byte(m)); len(hits) > 0 {
					t.Fatalf("%q is on disk in the clear: %v", m, hits)
				}
			}
			// It reads back whole.
			rc, err := c.OpenFile(55)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(rc)
			rc.Close()
			if !bytes.Equal(got, photo) {
				t.Fatalf("read back %d bytes, not the photo", len(got))
			}
			sealed, err := os.ReadFile(filepath.Join(dir, FilesDir, "55"))
			if err != nil {
				t.Fatal(err)
			}
			probe := sealed[10_000:10_064]
			if len(anyFileContains(t, dir, probe)) == 0 {
				t.Fatal("the sealed file is not found: the check cannot fail")
			}

			switch how {
			case "server deletion":
				err = c.Apply(&protocol.DeletedFrame{Type: protocol.TypeDeleted, ConversationID: 3, ThroughSeq: 1})
			case "expiry":
				now = now.Add(2 * time.Hour)
				_, err = c.ExpireDue()
			case "conversation deleted":
				err = c.Apply(&protocol.ConversationDeletedFrame{Type: protocol.TypeConversationDeleted, ConversationID: 3})
			case "wipe":
				err = c.Wipe()
			}
			if err != nil {
				t.Fatal(err)
			}
			if hits := anyFileContains(t, dir, probe); len(hits) > 0 {
				t.Fatalf("the sealed photo remains in %v", hits)
			}
			if how == "wipe" {
				return
			}
			if _, err := c.OpenFile(55); !errors.Is(err, ErrNoFile) {
				t.Fatalf("the photo is still held: %v", err)
			}
			if _, err := c.Thumb(55); !errors.Is(err, ErrNoFile) {
				t.Fatalf("the thumbnail is still held: %v", err)
			}
			_, err = c.OpenFile(56)
			if keep := how == "server deletion" || how == "expiry"; keep != (err == nil) {
				t.Fatalf("the other message's file: %v (kept: %v)", err, keep)
			}
		})
	}
}

// A file copied out of the cache opens only under its own name and the
// cache's key.
func TestAttachmentFileBoundToItsPlace(t *testing.T) {
	dir := t.TempDir()
	c := openTest(t, dir, nil)
	if err := c.Apply(withFile(msg(10, 3, 1, "x", time.Now().Add(time.Hour)), 55)); err != nil {
		t.Fatal(err)
	}
	if err := c.Apply(withFile(msg(11, 3, 2, "y", time.Now().Add(time.Hour)), 56)); err != nil {
		t.Fatal(err)
	}
	if err := c.StoreFile(55, bytes.NewReader(canaryPhoto("a"))); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, FilesDir, "55"))
	if err := os.WriteFile(filepath.Join(dir, FilesDir, "56"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	rc, err := c.OpenFile(56)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := io.ReadAll(rc); err == nil {
		t.Fatal("a file moved to another attachment's name opened")
	}
}
