package sqlite

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/sealkeys"
	"github.com/taiwa-chat/taiwa/server/internal/store"
	"github.com/taiwa-chat/taiwa/server/internal/store/storetest"
)

// anyFileContains reports which files under dir (every file of the data
// directory: the database, its log, the keys, the attachments) contain b.
func anyFileContains(t *testing.T, dir string, b []byte) []string {
	t.Helper()
	var hits []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		content, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(content, b) {
			hits = append(hits, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hits
}

// attachmentFile is the sealed file of an attachment as stored on disk.
func attachmentFile(t *testing.T, db *DB, id int64) (path string, slice int64) {
	t.Helper()
	var name string
	if err := db.read.QueryRow("SELECT file, slice FROM attachments WHERE id = ?", id).Scan(&name, &slice); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(db.files.Path(), name), slice
}

// The deletion canary for files: a photo's bytes are never on disk in
// the clear, its sealed file goes from the disk with its message (the
// sweep) or its client (deletion), and a copy of the sealed file taken
// before (a backup) no longer opens once the key is gone.
func TestAttachmentBytesGoWithTheirMessage(t *testing.T) {
	for _, how := range []string{"retention", "client deleted"} {
		t.Run(how, func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			o := f.Org(t, 1)
			cl := o.Clients[0]
			hour := int64(3600)
			if _, err := f.db.UpdateSettings(ctx, o.Admin, protocol.SettingsPatch{RetentionSeconds: &hour}); err != nil {
				t.Fatal(err)
			}
			canary := []byte("CANARY-photo-bytes-5be1-それは写真です")
			photo := storetest.FakeFile(protocol.TypeJPEG, 300_000)
			copy(photo[1000:], canary)
			conv := send(t, f.db, cl, 0, "1", "写真").ConversationID
			a, err := f.db.Upload(ctx, cl, conv, bytes.NewReader(photo))
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := f.db.Send(ctx, cl, store.SendRequest{Ref: "p", Attachment: a.ID}); err != nil {
				t.Fatal(err)
			}
			if hits := anyFileContains(t, f.dir, canary); len(hits) > 0 {
				t.Fatalf("the photo is on disk in the clear: %v", hits)
			}
			path, slice := attachmentFile(t, f.db, a.ID)
			sealed, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			probe := sealed[5000:5064] // some sealed bytes of the file
			if len(anyFileContains(t, f.dir, probe)) == 0 {
				t.Fatal("the sealed file is not found before deletion: the check cannot fail")
			}
			backup := filepath.Join(t.TempDir(), "backup")
			if err := os.WriteFile(backup, sealed, 0o600); err != nil {
				t.Fatal(err)
			}
			if box, err := f.db.ring.OpenBox(cl.AccountID, slice); err != nil || box == nil {
				t.Fatalf("the key is missing before deletion: %v", err)
			}

			if how == "retention" {
				f.Clock.Add(time.Hour + sealkeys.SliceLength)
				if _, err := f.db.Sweep(ctx); err != nil {
					t.Fatal(err)
				}
			} else if err := f.db.DeleteAccount(ctx, o.Admin, cl.AccountID); err != nil {
				t.Fatal(err)
			}
			if hits := anyFileContains(t, f.dir, probe); len(hits) > 0 {
				t.Fatalf("the sealed file remains in %v", hits)
			}
			if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("the file is still there: %v", err)
			}
			// The backup's bytes are there, its key is not.
			if _, err := f.db.ring.OpenBox(cl.AccountID, slice); !errors.Is(err, sealkeys.ErrErased) {
				t.Fatalf("the backup's key survived: %v", err)
			}
		})
	}
}

// A file left without a row (the process stopped between writing it and
// committing its row, or between a deletion's commit and the removal) is
// removed by the sweep once it has settled; a file with a row stays.
func TestSweepPrunesOrphanFiles(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	o := f.Org(t, 1)
	cl := o.Clients[0]
	conv := send(t, f.db, cl, 0, "1", "写真").ConversationID
	a, err := f.db.Upload(ctx, cl, conv, bytes.NewReader(storetest.FakeFile(protocol.TypePNG, 2000)))
	if err != nil {
		t.Fatal(err)
	}
	kept, _ := attachmentFile(t, f.db, a.ID)
	orphan := filepath.Join(f.db.files.Path(), "0123456789abcdef0123456789abcdef")
	if err := os.WriteFile(orphan, []byte("sealed bytes"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	for _, p := range []string{orphan, kept} {
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.db.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(orphan); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the orphan file survived the sweep: %v", err)
	}
	if _, err := os.Stat(kept); err != nil {
		t.Fatalf("a file with its row was removed: %v", err)
	}
}
