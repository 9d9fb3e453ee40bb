package postgres

import (
	"context"
	"database/sql"

	"errors"
	"fmt"
	"github.com/jackc/pgx/v5"
	"io"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/pkg/retention"
	"github.com/taiwa-chat/taiwa/server/internal/attachfiles"
	"github.com/taiwa-chat/taiwa/server/internal/rules"
	"github.com/taiwa-chat/taiwa/server/internal/store"
)

// attaching loads what rules.MayUpload and MayFetch decide on.
func (db *DB) attaching(q querier, p store.Principal, conversationID int64) (rules.Attaching, error) {
	in := rules.Attaching{Actor: p, Now: db.clock()}
	var err error
	if in.Conv, in.Access, err = db.loadConversation(q, p, conversationID); err != nil {
		return in, err
	}
	if in.Settings, err = loadSettings(q, p.OrgID); err != nil {
		return in, err
	}
	if !p.IsStaff() {
		var until sql.NullInt64
		if err := q.QueryRow("SELECT access_until FROM accounts WHERE id = ?", p.AccountID).Scan(&until); err != nil {
			return in, fmt.Errorf("load client: %w", err)
		}
		in.AccessUntil = fromNullMS(until)
	}
	return in, nil
}

// Upload streams a file to disk, sealed, then records it. The permission
// is checked before the first byte is read and again in the recording
// transaction (a deletion or a hand-over may come in between).
func (db *DB) Upload(ctx context.Context, p store.Principal, conversationID int64, r io.Reader) (protocol.Attachment, error) {
	in, err := db.attaching(db.read(ctx), p, conversationID)
	if err != nil {
		return protocol.Attachment{}, err
	}
	if err := rules.MayUpload(in); err != nil {
		return protocol.Attachment{}, err
	}
	expires := retention.ExpiresAt(in.Now, time.Duration(in.Settings.RetentionSeconds)*time.Second)
	slice, box, err := db.ring.StreamBox(in.Conv.ClientID, expires)
	if err != nil {
		return protocol.Attachment{}, err
	}
	name := attachfiles.NewName()
	w, err := db.files.Write(name, box, r, in.Settings.AttachmentLimit())
	switch {
	case errors.Is(err, attachfiles.ErrTooLarge):
		return protocol.Attachment{}, protocol.Errorf(protocol.CodeTooLarge, "the file is larger than this organisation's limit of %d bytes", in.Settings.AttachmentLimit())
	case errors.Is(err, attachfiles.ErrType):
		return protocol.Attachment{}, protocol.Errorf(protocol.CodeUnsupportedMedia, "only JPEG, PNG, HEIC images and PDF files can be sent")
	case err != nil:
		return protocol.Attachment{}, err
	}
	out := protocol.Attachment{Type: w.Type, Size: w.Size}
	err = db.do(ctx, func(tx *wtx) ([]store.Change, error) {
		in, err := db.attaching(tx, p, conversationID)
		if err != nil {
			return nil, err
		}
		if err := rules.MayUpload(in); err != nil {
			return nil, err
		}
		if err := tx.QueryRow(`INSERT INTO attachments(org_id, conversation_id, uploader_id, file, type, size, slice, created_at, expires_at)
			VALUES (?,?,?,?,?,?,?,?,?) RETURNING id`, p.OrgID, in.Conv.ID, p.AccountID, name, w.Type, w.Size, slice, ms(in.Now), ms(expires)).Scan(&out.ID); err != nil {
			return nil, fmt.Errorf("record attachment: %w", err)
		}
		return nil, nil
	})
	if err != nil {
		db.files.Remove(name)
		return protocol.Attachment{}, err
	}
	return out, nil
}

const attCols = "id, conversation_id, uploader_id, COALESCE(message_id, 0), file, type, size, slice"

type attRow struct {
	rules.StoredAttachment
	file  string
	slice int64
}

func scanAtt(sc interface{ Scan(...any) error }) (attRow, error) {
	var a attRow
	err := sc.Scan(&a.ID, &a.ConversationID, &a.UploaderID, &a.MessageID, &a.file, &a.Type, &a.Size, &a.slice)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, protocol.Errorf(protocol.CodeNotFound, "no such attachment")
	}
	if err != nil {
		return a, fmt.Errorf("load attachment: %w", err)
	}
	return a, nil
}

// OpenAttachment opens a file p may read.
func (db *DB) OpenAttachment(ctx context.Context, p store.Principal, id int64) (protocol.Attachment, io.ReadCloser, error) {
	a, err := scanAtt(db.read(ctx).QueryRow("SELECT "+attCols+" FROM attachments WHERE id = ? AND org_id = ?", id, p.OrgID))
	if err != nil {
		return protocol.Attachment{}, nil, err
	}
	in, err := db.attaching(db.read(ctx), p, a.ConversationID)
	if err != nil {
		if protocol.AsError(err).Code == protocol.CodeNotFound {
			return protocol.Attachment{}, nil, protocol.Errorf(protocol.CodeNotFound, "no such attachment")
		}
		return protocol.Attachment{}, nil, err
	}
	if err := rules.MayFetch(in, a.StoredAttachment); err != nil {
		return protocol.Attachment{}, nil, err
	}
	box, err := db.ring.OpenBox(in.Conv.ClientID, a.slice)
	if err != nil {
		return protocol.Attachment{}, nil, protocol.Errorf(protocol.CodeNotFound, "the attachment has been deleted")
	}
	f, err := db.files.Open(a.file, box)
	if err != nil {
		return protocol.Attachment{}, nil, fmt.Errorf("attachment %d: %w", a.ID, err)
	}
	return a.Attachment, f, nil
}

// attachToMessage loads the sender's upload for a message in the
// sending transaction and checks it may go with it.
func attachToMessage(tx *wtx, p store.Principal, conv store.ConversationState, kind protocol.MessageKind, id int64) (*protocol.Attachment, error) {
	a, err := scanAtt(tx.QueryRow("SELECT "+attCols+" FROM attachments WHERE id = ? AND org_id = ?", id, p.OrgID))
	if err != nil {
		return nil, err
	}
	if err := rules.AttachToMessage(p, conv.ID, kind, a.StoredAttachment); err != nil {
		return nil, err
	}
	return &a.Attachment, nil
}

// sweepAttachments deletes the rows of files past their expiry and of
// uploads never sent, and their files once that has committed; then any
// file left without a row (a deletion stopped between its commit and the
// files' removal). It runs before the messages' sweep: a file expires no
// later than its message, so no row goes by cascade with its file left
// behind.
func (db *DB) sweepAttachments(ctx context.Context, now time.Time) (int, error) {
	var files []string
	err := db.do(ctx, func(tx *wtx) ([]store.Change, error) {
		files = nil
		rows, err := tx.Query("DELETE FROM attachments WHERE expires_at <= ? OR (message_id IS NULL AND created_at <= ?) RETURNING file",
			ms(now), ms(now.Add(-rules.UnsentAttachmentTTL)))
		if err != nil {
			return nil, fmt.Errorf("delete expired attachments: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var f string
			if err := rows.Scan(&f); err != nil {
				return nil, fmt.Errorf("delete expired attachments: %w", err)
			}
			files = append(files, f)
		}
		return nil, rows.Err()
	})
	if err != nil {
		return 0, err
	}
	if err := db.files.Remove(files...); err != nil {
		return 0, fmt.Errorf("remove expired attachments: %w", err)
	}
	// Files' times are the machine's, not the store's clock.
	n, err := db.pruneFiles(ctx, time.Now())
	return len(files) + n, err
}

// pruneFiles removes the files no row refers to.
func (db *DB) pruneFiles(ctx context.Context, now time.Time) (int, error) {
	rows, err := db.read(ctx).Query("SELECT file FROM attachments")
	if err != nil {
		return 0, fmt.Errorf("list attachment files: %w", err)
	}
	keep := map[string]bool{}
	for rows.Next() {
		var f string
		if err := rows.Scan(&f); err != nil {
			rows.Close()
			return 0, fmt.Errorf("list attachment files: %w", err)
		}
		keep[f] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("list attachment files: %w", err)
	}
	return db.files.Prune(func(n string) bool { return keep[n] }, now)
}

// deleteAttachmentRows deletes a conversation's file rows and returns the
// files to remove once the deletion has committed.
func deleteAttachmentRows(tx *wtx, conversationID int64) ([]string, error) {
	rows, err := tx.Query("DELETE FROM attachments WHERE conversation_id = ? RETURNING file", conversationID)
	if err != nil {
		return nil, fmt.Errorf("delete attachments: %w", err)
	}
	defer rows.Close()
	var files []string
	for rows.Next() {
		var f string
		if err := rows.Scan(&f); err != nil {
			return nil, fmt.Errorf("delete attachments: %w", err)
		}
		files = append(files, f)
	}
	return files, rows.Err()
}
