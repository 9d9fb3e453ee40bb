// Package cache is the desktop app's local copy of what the server sent:
// conversations, messages and the unsent outbox, in SQLite, with every
// piece of client text (message bodies, nicknames, notes) encrypted with
// AES-256-GCM under a key kept in the OS keychain.
//
// Messages are deleted at their expires_at by a timer set for the next
// expiry (pkg/retention decides, as on the server), and at once when the
// server announces a deletion. Deleted rows are overwritten
// (secure_delete) and the WAL truncated, so even the ciphertext is gone.
package cache

import (
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/client"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/pkg/retention"
	"github.com/taiwa-chat/taiwa/pkg/sealbox"
	"github.com/taiwa-chat/taiwa/pkg/sqlitefile"
)

// FileName is the cache database inside its directory.
const FileName = "cache.db"

// ErrWrongKey means the cache was written with another key (the keychain
// entry was replaced): it cannot be read and should be wiped.
var ErrWrongKey = errors.New("cache key does not match this cache")

// Cache is one account's local store.
type Cache struct {
	dir  string
	db   *sql.DB
	box  *sealbox.Box
	now  func() time.Time
	wake chan struct{} // an earlier expiry may have arrived

	mu     sync.Mutex
	closed bool
}

const schema = `
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS conversations (id INTEGER PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS messages (
	id INTEGER PRIMARY KEY,
	conversation_id INTEGER NOT NULL,
	seq INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_conv ON messages(conversation_id, seq);
CREATE INDEX IF NOT EXISTS messages_expiry ON messages(expires_at);
CREATE TABLE IF NOT EXISTS outbox (
	ref TEXT PRIMARY KEY,
	position INTEGER NOT NULL,
	data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS drafts (conversation_id INTEGER PRIMARY KEY, data BLOB NOT NULL);
`

// Open opens (or creates) the cache in dir with a 32-byte key. now is the
// clock (nil: time.Now).
func Open(dir string, key []byte, now func() time.Time) (*Cache, error) {
	if len(key) != 32 {
		return nil, errors.New("cache key must be 32 bytes")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create cache directory: %w", err)
	}
	box, err := sealbox.New(key)
	if err != nil {
		return nil, err
	}
	// NORMAL: a cache that loses its last writes in a power cut fetches
	// them again; the server is where durability lives.
	db, err := sqlitefile.OpenWriter(filepath.Join(dir, FileName), "synchronous(NORMAL)")
	if err != nil {
		return nil, fmt.Errorf("open cache: %w", err)
	}
	db.SetMaxOpenConns(1) // one app, one connection: no lock contention, simple checkpoints
	if _, err := db.Exec(schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("create cache schema: %w", err)
	}
	if err := addAttachmentColumn(db); err != nil {
		db.Close()
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	c := &Cache{dir: dir, db: db, box: box, now: now, wake: make(chan struct{}, 1)}
	if err := c.checkKey(); err != nil {
		db.Close()
		return nil, err
	}
	// Parts of downloads a stop interrupted, files of messages deleted
	// while the app was not running to remove them.
	for _, e := range mustReadDir(c.filesDir()) {
		if strings.HasPrefix(e, "part-") {
			os.Remove(filepath.Join(c.filesDir(), e))
		}
	}
	if err := c.pruneFiles(); err != nil {
		db.Close()
		return nil, err
	}
	return c, nil
}

// addAttachmentColumn gives caches made before attachments (issue 14) the
// column that says which file a message carries.
func addAttachmentColumn(db *sql.DB) error {
	rows, err := db.Query("SELECT name FROM pragma_table_info('messages')")
	if err != nil {
		return fmt.Errorf("cache schema: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return fmt.Errorf("cache schema: %w", err)
		}
		if n == "attachment_id" {
			return nil
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("cache schema: %w", err)
	}
	rows.Close()
	if _, err := db.Exec("ALTER TABLE messages ADD COLUMN attachment_id INTEGER"); err != nil {
		return fmt.Errorf("cache schema: %w", err)
	}
	return nil
}

func mustReadDir(dir string) []string {
	entries, _ := os.ReadDir(dir) // none yet: nothing to clean
	out := make([]string, 0, len(entries))
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// checkKey stores an encrypted marker on first use and verifies it after.
func (c *Cache) checkKey() error {
	var blob []byte
	err := c.db.QueryRow("SELECT v FROM meta WHERE k = 'check'").Scan(&blob)
	if errors.Is(err, sql.ErrNoRows) {
		_, err = c.db.Exec("INSERT INTO meta(k, v) VALUES ('check', ?)", c.seal("meta:check", []byte("taiwa")))
		return err
	}
	if err != nil {
		return fmt.Errorf("read cache key check: %w", err)
	}
	if _, err := c.open("meta:check", blob); err != nil {
		return ErrWrongKey
	}
	return nil
}

// seal encrypts plain; aad binds the ciphertext to its row, so rows cannot
// be swapped undetected.
func (c *Cache) seal(aad string, plain []byte) []byte { return c.box.Seal(plain, []byte(aad)) }

func (c *Cache) open(aad string, blob []byte) ([]byte, error) { return c.box.Open(blob, []byte(aad)) }

func (c *Cache) sealJSON(aad string, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("cache: encode %T: %v", v, err)) // plain structs: cannot fail
	}
	return c.seal(aad, b)
}

func (c *Cache) openJSON(aad string, blob []byte, v any) error {
	b, err := c.open(aad, blob)
	if err != nil {
		return fmt.Errorf("decrypt %s: %w", aad, err)
	}
	return json.Unmarshal(b, v)
}

func convAAD(id int64) string  { return fmt.Sprintf("conversation:%d", id) }
func msgAAD(id int64) string   { return fmt.Sprintf("message:%d", id) }
func refAAD(ref string) string { return "outbox:" + ref }
func draftAAD(id int64) string { return fmt.Sprintf("draft:%d", id) }

func (c *Cache) poke() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Apply records one frame from the server (or an ack). Frames of other
// types are ignored.
func (c *Cache) Apply(frame protocol.ServerFrame) error {
	return c.ApplyAll([]protocol.ServerFrame{frame})
}

// ApplyAll records a batch of frames in one transaction: a burst of
// thousands of replayed messages costs one commit, not thousands.
// Deletions among them are scrubbed from the WAL after the commit.
func (c *Cache) ApplyAll(frames []protocol.ServerFrame) error {
	tx, err := c.db.Begin()
	if err != nil {
		return fmt.Errorf("cache: begin: %w", err)
	}
	var (
		scrub  bool
		cursor int64
	)
	for _, f := range frames {
		s, id, err := c.applyTx(tx, f)
		if err != nil {
			tx.Rollback() //nolint:errcheck
			return err
		}
		scrub = scrub || s
		cursor = max(cursor, id)
	}
	if cursor > 0 {
		if err := raiseCursor(tx, cursor); err != nil {
			tx.Rollback() //nolint:errcheck
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("cache: commit: %w", err)
	}
	if cursor > 0 {
		c.poke()
	}
	if scrub {
		if _, err := c.db.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
			return fmt.Errorf("cache: checkpoint: %w", err)
		}
		// The files of the messages just deleted go with them.
		if err := c.pruneFiles(); err != nil {
			return err
		}
	}
	return nil
}

// applyTx applies one frame in tx, reporting whether it deleted anything
// and the highest message ID it stored.
func (c *Cache) applyTx(tx *sql.Tx, frame protocol.ServerFrame) (scrub bool, id int64, err error) {
	switch f := frame.(type) {
	case *protocol.Welcome:
		return true, 0, c.applyWelcome(tx, f)
	case *protocol.MessageFrame:
		return false, f.Message.ID, c.putMessage(tx, f.Message)
	case *protocol.Ack:
		if _, err := tx.Exec("DELETE FROM outbox WHERE ref = ?", f.Ref); err != nil {
			return false, 0, fmt.Errorf("cache: clear outbox entry: %w", err)
		}
		return false, f.Message.ID, c.putMessage(tx, f.Message)
	case *protocol.ErrorFrame:
		// A final refusal takes the reply out of the outbox; internal and
		// unavailable are retried on the next connection.
		if f.Ref != "" && !f.Error.Code.Retryable() {
			if _, err := tx.Exec("DELETE FROM outbox WHERE ref = ?", f.Ref); err != nil {
				return false, 0, fmt.Errorf("cache: remove outbox entry: %w", err)
			}
		}
		return false, 0, nil
	case *protocol.ConversationFrame:
		return false, 0, c.putConversation(tx, f.Conversation)
	case *protocol.ConversationDeletedFrame:
		return true, 0, deleteConversation(tx, f.ConversationID)
	case *protocol.ConversationWithdrawnFrame:
		// No longer this account's to read: its words, draft and unsent
		// replies go.
		return true, 0, c.forgetConversation(tx, f.ConversationID)
	case *protocol.DeletedFrame:
		_, err := tx.Exec("DELETE FROM messages WHERE conversation_id = ? AND seq <= ?", f.ConversationID, f.ThroughSeq)
		if err != nil {
			return false, 0, fmt.Errorf("cache: delete messages: %w", err)
		}
		return true, 0, nil
	case *protocol.SettingsFrame:
		return false, 0, putMeta(tx, "org", c.sealJSON("meta:org", f.Org))
	}
	return false, 0, nil
}

type execer interface {
	Exec(query string, args ...any) (sql.Result, error)
}

func (c *Cache) putConversation(db execer, conv protocol.Conversation) error {
	_, err := db.Exec("INSERT INTO conversations(id, data) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET data = excluded.data",
		conv.ID, c.sealJSON(convAAD(conv.ID), conv))
	if err != nil {
		return fmt.Errorf("cache: store conversation: %w", err)
	}
	return nil
}

func (c *Cache) putMessage(db execer, m protocol.Message) error {
	if m.ID == 0 {
		return nil
	}
	var att any
	if m.Attachment != nil {
		att = m.Attachment.ID
	}
	_, err := db.Exec("INSERT OR IGNORE INTO messages(id, conversation_id, seq, expires_at, data, attachment_id) VALUES (?,?,?,?,?,?)",
		m.ID, m.ConversationID, m.Seq, m.ExpiresAt.UnixMilli(), c.sealJSON(msgAAD(m.ID), m), att)
	if err != nil {
		return fmt.Errorf("cache: store message: %w", err)
	}
	return nil
}

// PutMessages stores messages fetched from the server's history (older
// pages), so that the next time they come from disk.
func (c *Cache) PutMessages(msgs []protocol.Message) error {
	tx, err := c.db.Begin()
	if err != nil {
		return fmt.Errorf("cache: begin: %w", err)
	}
	for _, m := range msgs {
		if err := c.putMessage(tx, m); err != nil {
			tx.Rollback() //nolint:errcheck
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("cache: commit: %w", err)
	}
	c.poke()
	return nil
}

func putMeta(db execer, k string, v []byte) error {
	if _, err := db.Exec("INSERT INTO meta(k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v", k, v); err != nil {
		return fmt.Errorf("cache: store %s: %w", k, err)
	}
	return nil
}

// raiseCursor keeps the highest message ID held. The value is 8 bytes
// big-endian, so SQLite's max() of two blobs is the larger number.
func raiseCursor(db execer, id int64) error {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, uint64(id))
	if _, err := db.Exec("INSERT INTO meta(k, v) VALUES ('cursor', ?) ON CONFLICT(k) DO UPDATE SET v = max(v, excluded.v)", b); err != nil {
		return fmt.Errorf("cache: store cursor: %w", err)
	}
	return nil
}

// Cursor is the highest message ID held: the next hello's cursor.
func (c *Cache) Cursor() (int64, error) {
	var b []byte
	err := c.db.QueryRow("SELECT v FROM meta WHERE k = 'cursor'").Scan(&b)
	if errors.Is(err, sql.ErrNoRows) || len(b) != 8 {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("cache: read cursor: %w", err)
	}
	return int64(binary.BigEndian.Uint64(b)), nil
}

// applyWelcome takes the server's view as the truth: conversations it no
// longer lists are gone, and so is everything below each first_seq. A
// welcome for a different account than the cache's wipes the cache
// first; a conversation whose number now names another client loses
// everything held under it, drafts and unsent replies included.
func (c *Cache) applyWelcome(tx *sql.Tx, w *protocol.Welcome) error {
	acct := make([]byte, 8)
	binary.BigEndian.PutUint64(acct, uint64(w.Account.ID))
	var prev []byte
	err := tx.QueryRow("SELECT v FROM meta WHERE k = 'account'").Scan(&prev)
	if err == nil && string(prev) != string(acct) {
		if err := clearAll(tx); err != nil {
			return err
		}
	}
	held, err := c.conversations(tx)
	if err != nil {
		return err
	}
	clients := make(map[int64]int64, len(held))
	for _, conv := range held {
		clients[conv.ID] = conv.ClientID
	}
	for _, kv := range [][2]any{{"account", acct}, {"org", c.sealJSON("meta:org", w.Org)}, {"role", []byte(w.Account.Role)}} {
		if err := putMeta(tx, kv[0].(string), kv[1].([]byte)); err != nil {
			return err
		}
	}
	if _, err := tx.Exec("CREATE TEMP TABLE IF NOT EXISTS keep (id INTEGER PRIMARY KEY)"); err != nil {
		return fmt.Errorf("cache: welcome: %w", err)
	}
	if _, err := tx.Exec("DELETE FROM temp.keep"); err != nil {
		return fmt.Errorf("cache: welcome: %w", err)
	}
	for _, conv := range w.Conversations {
		if old, ok := clients[conv.ID]; ok && old != 0 && conv.ClientID != 0 && old != conv.ClientID {
			if err := c.forgetConversation(tx, conv.ID); err != nil {
				return err
			}
		}
		if err := c.putConversation(tx, conv); err != nil {
			return err
		}
		if _, err := tx.Exec("INSERT INTO temp.keep(id) VALUES (?)", conv.ID); err != nil {
			return fmt.Errorf("cache: welcome: %w", err)
		}
		if _, err := tx.Exec("DELETE FROM messages WHERE conversation_id = ? AND seq < ?", conv.ID, conv.FirstSeq); err != nil {
			return fmt.Errorf("cache: welcome: %w", err)
		}
	}
	for _, q := range []string{
		"DELETE FROM messages WHERE conversation_id NOT IN (SELECT id FROM temp.keep)",
		"DELETE FROM drafts WHERE conversation_id NOT IN (SELECT id FROM temp.keep)",
		"DELETE FROM conversations WHERE id NOT IN (SELECT id FROM temp.keep)",
	} {
		if _, err := tx.Exec(q); err != nil {
			return fmt.Errorf("cache: welcome: %w", err)
		}
	}
	return nil
}

// forgetConversation deletes everything held under a conversation number
// that now names another client: messages, draft and unsent replies.
func (c *Cache) forgetConversation(tx *sql.Tx, id int64) error {
	if err := deleteConversation(tx, id); err != nil {
		return err
	}
	pending, err := c.pending(tx)
	if err != nil {
		return err
	}
	for _, p := range pending {
		if p.ConversationID == id {
			if _, err := tx.Exec("DELETE FROM outbox WHERE ref = ?", p.Ref); err != nil {
				return fmt.Errorf("cache: forget outbox entry: %w", err)
			}
		}
	}
	return nil
}

func deleteConversation(tx *sql.Tx, id int64) error {
	for _, q := range []string{"DELETE FROM messages WHERE conversation_id = ?", "DELETE FROM drafts WHERE conversation_id = ?", "DELETE FROM conversations WHERE id = ?"} {
		if _, err := tx.Exec(q, id); err != nil {
			return fmt.Errorf("cache: delete conversation: %w", err)
		}
	}
	return nil
}

// scrub runs a deletion and then truncates the WAL, so deleted rows leave
// no copy behind (secure_delete overwrites them in the main file).
func (c *Cache) scrub(f func(tx *sql.Tx) error) error {
	tx, err := c.db.Begin()
	if err != nil {
		return fmt.Errorf("cache: begin: %w", err)
	}
	if err := f(tx); err != nil {
		tx.Rollback() //nolint:errcheck
		return fmt.Errorf("cache: delete: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("cache: commit: %w", err)
	}
	if _, err := c.db.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		return fmt.Errorf("cache: checkpoint: %w", err)
	}
	return c.pruneFiles()
}

// clear deletes every row.
func (c *Cache) clear() error { return c.scrub(clearAll) }

func clearAll(tx *sql.Tx) error {
	for _, q := range []string{"DELETE FROM messages", "DELETE FROM conversations", "DELETE FROM outbox", "DELETE FROM drafts", "DELETE FROM meta WHERE k <> 'check'"} {
		if _, err := tx.Exec(q); err != nil {
			return fmt.Errorf("cache: clear: %w", err)
		}
	}
	return nil
}

type querier interface {
	Query(query string, args ...any) (*sql.Rows, error)
}

// Conversations returns every cached conversation.
func (c *Cache) Conversations() ([]protocol.Conversation, error) { return c.conversations(c.db) }

func (c *Cache) conversations(db querier) ([]protocol.Conversation, error) {
	rows, err := db.Query("SELECT id, data FROM conversations ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("cache: list conversations: %w", err)
	}
	defer rows.Close()
	var out []protocol.Conversation
	for rows.Next() {
		var (
			id   int64
			blob []byte
			conv protocol.Conversation
		)
		if err := rows.Scan(&id, &blob); err != nil {
			return nil, fmt.Errorf("cache: list conversations: %w", err)
		}
		if err := c.openJSON(convAAD(id), blob, &conv); err != nil {
			return nil, err
		}
		out = append(out, conv)
	}
	return out, rows.Err()
}

// Messages returns a conversation's cached messages in order, skipping any
// already past their expiry (the timer may not have fired yet).
func (c *Cache) Messages(conversationID int64) ([]protocol.Message, error) {
	return c.messages("SELECT id, data FROM messages WHERE conversation_id = ? AND expires_at > ? ORDER BY seq",
		conversationID, c.now().UnixMilli())
}

// Newest returns a conversation's newest n messages, oldest first: what
// the app shows at start; older ones are read page by page (Before).
func (c *Cache) Newest(conversationID int64, n int) ([]protocol.Message, error) {
	return c.messages("SELECT id, data FROM (SELECT id, seq, data FROM messages WHERE conversation_id = ? AND expires_at > ? ORDER BY seq DESC LIMIT ?) ORDER BY seq",
		conversationID, c.now().UnixMilli(), n)
}

// Before returns up to n messages of a conversation just before seq
// before, oldest first.
func (c *Cache) Before(conversationID, before int64, n int) ([]protocol.Message, error) {
	return c.messages("SELECT id, data FROM (SELECT id, seq, data FROM messages WHERE conversation_id = ? AND seq < ? AND expires_at > ? ORDER BY seq DESC LIMIT ?) ORDER BY seq",
		conversationID, before, c.now().UnixMilli(), n)
}

func (c *Cache) messages(query string, args ...any) ([]protocol.Message, error) {
	rows, err := c.db.Query(query, args...)
	if err != nil {
		return nil, fmt.Errorf("cache: list messages: %w", err)
	}
	defer rows.Close()
	var out []protocol.Message
	for rows.Next() {
		var (
			id   int64
			blob []byte
			m    protocol.Message
		)
		if err := rows.Scan(&id, &blob); err != nil {
			return nil, fmt.Errorf("cache: list messages: %w", err)
		}
		if err := c.openJSON(msgAAD(id), blob, &m); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// SetDraft keeps the text being written to a conversation (empty: none),
// encrypted like everything else, so that a restart loses no words.
func (c *Cache) SetDraft(conversationID int64, text string) error {
	var err error
	if text == "" {
		_, err = c.db.Exec("DELETE FROM drafts WHERE conversation_id = ?", conversationID)
	} else {
		_, err = c.db.Exec("INSERT INTO drafts(conversation_id, data) VALUES (?, ?) ON CONFLICT(conversation_id) DO UPDATE SET data = excluded.data",
			conversationID, c.seal(draftAAD(conversationID), []byte(text)))
	}
	if err != nil {
		return fmt.Errorf("cache: store draft: %w", err)
	}
	return nil
}

// Drafts returns the kept drafts by conversation.
func (c *Cache) Drafts() (map[int64]string, error) {
	rows, err := c.db.Query("SELECT conversation_id, data FROM drafts")
	if err != nil {
		return nil, fmt.Errorf("cache: list drafts: %w", err)
	}
	defer rows.Close()
	out := map[int64]string{}
	for rows.Next() {
		var (
			id   int64
			blob []byte
		)
		if err := rows.Scan(&id, &blob); err != nil {
			return nil, fmt.Errorf("cache: list drafts: %w", err)
		}
		text, err := c.open(draftAAD(id), blob)
		if err != nil {
			return nil, fmt.Errorf("decrypt draft: %w", err)
		}
		out[id] = string(text)
	}
	return out, rows.Err()
}

// Org returns the cached organisation, if any.
func (c *Cache) Org() (protocol.Org, bool, error) {
	var blob []byte
	err := c.db.QueryRow("SELECT v FROM meta WHERE k = 'org'").Scan(&blob)
	if errors.Is(err, sql.ErrNoRows) {
		return protocol.Org{}, false, nil
	}
	if err != nil {
		return protocol.Org{}, false, fmt.Errorf("cache: read org: %w", err)
	}
	var o protocol.Org
	return o, true, c.openJSON("meta:org", blob, &o)
}

// Role is the signed-in account's role as of the last welcome ("" before
// one): the app applies access hours from the cache while offline.
func (c *Cache) Role() (protocol.Role, error) {
	var v []byte
	err := c.db.QueryRow("SELECT v FROM meta WHERE k = 'role'").Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("cache: read role: %w", err)
	}
	return protocol.Role(v), nil
}

// Account is the signed-in account as of the last welcome (its ID and
// role; zero before one): the app knows offline which conversations are
// its own.
func (c *Cache) Account() (protocol.Account, error) {
	var v []byte
	err := c.db.QueryRow("SELECT v FROM meta WHERE k = 'account'").Scan(&v)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && len(v) != 8) {
		return protocol.Account{}, nil
	}
	if err != nil {
		return protocol.Account{}, fmt.Errorf("cache: read account: %w", err)
	}
	role, err := c.Role()
	return protocol.Account{ID: int64(binary.BigEndian.Uint64(v)), Role: role}, err
}

// AddPending records a message written but not yet acknowledged, so that a
// restart sends it again with the same ref.
func (c *Cache) AddPending(p client.PendingMessage) error {
	_, err := c.db.Exec("INSERT OR IGNORE INTO outbox(ref, position, data) VALUES (?, (SELECT COALESCE(MAX(position), 0) + 1 FROM outbox), ?)",
		p.Ref, c.sealJSON(refAAD(p.Ref), p))
	if err != nil {
		return fmt.Errorf("cache: store outbox entry: %w", err)
	}
	return nil
}

// RemovePending drops an outbox entry the server refused for good.
func (c *Cache) RemovePending(ref string) error {
	if _, err := c.db.Exec("DELETE FROM outbox WHERE ref = ?", ref); err != nil {
		return fmt.Errorf("cache: remove outbox entry: %w", err)
	}
	return nil
}

// Pending returns the outbox, oldest first.
func (c *Cache) Pending() ([]client.PendingMessage, error) { return c.pending(c.db) }

func (c *Cache) pending(db querier) ([]client.PendingMessage, error) {
	rows, err := db.Query("SELECT ref, data FROM outbox ORDER BY position")
	if err != nil {
		return nil, fmt.Errorf("cache: list outbox: %w", err)
	}
	defer rows.Close()
	var out []client.PendingMessage
	for rows.Next() {
		var (
			ref  string
			blob []byte
			p    client.PendingMessage
		)
		if err := rows.Scan(&ref, &blob); err != nil {
			return nil, fmt.Errorf("cache: list outbox: %w", err)
		}
		if err := c.openJSON(refAAD(ref), blob, &p); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// Expired identifies a message removed by the expiry timer.
type Expired struct {
	ConversationID int64
	ID             int64
}

// ExpireDue deletes every message whose expiry has passed.
func (c *Cache) ExpireDue() ([]Expired, error) {
	now := c.now().UnixMilli()
	var gone []Expired
	err := c.scrub(func(tx *sql.Tx) error {
		rows, err := tx.Query("DELETE FROM messages WHERE expires_at <= ? RETURNING conversation_id, id", now)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e Expired
			if err := rows.Scan(&e.ConversationID, &e.ID); err != nil {
				return err
			}
			gone = append(gone, e)
		}
		return rows.Err()
	})
	return gone, err
}

// nextExpiry returns the earliest expiry held.
func (c *Cache) nextExpiry() (time.Time, bool, error) {
	var v sql.NullInt64
	if err := c.db.QueryRow("SELECT MIN(expires_at) FROM messages").Scan(&v); err != nil {
		return time.Time{}, false, fmt.Errorf("cache: next expiry: %w", err)
	}
	if !v.Valid {
		return time.Time{}, false, nil
	}
	return time.UnixMilli(v.Int64), true, nil
}

// RunExpiry deletes messages as they expire until ctx ends: one timer, set
// for the earliest expiry and reset when an earlier one arrives. onExpired
// hears what was deleted, so the screen can drop it at the same moment.
func (c *Cache) RunExpiry(ctx context.Context, onExpired func([]Expired)) error {
	for {
		gone, err := c.ExpireDue()
		if err != nil {
			return err
		}
		if len(gone) > 0 && onExpired != nil {
			onExpired(gone)
		}
		next, ok, err := c.nextExpiry()
		if err != nil {
			return err
		}
		var (
			fire  <-chan time.Time
			timer *time.Timer
		)
		if ok {
			wait, _ := retention.NextWipe(c.now(), next)
			timer = time.NewTimer(wait)
			fire = timer.C
		}
		select {
		case <-fire:
		case <-c.wake:
		case <-ctx.Done():
		}
		if timer != nil {
			timer.Stop()
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// Close closes the cache, keeping its files.
func (c *Cache) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	return c.db.Close()
}

// Wipe deletes the cache and its files (logout, forced logout). The caller
// should also delete the key from the keychain, so that any copy of the
// files that escaped deletion stays unreadable.
func (c *Cache) Wipe() error {
	err := c.clear()
	err = errors.Join(err, c.Close())
	err = errors.Join(err, c.removeFiles()) // after Close: no download puts a file back
	for _, name := range []string{FileName, FileName + "-wal", FileName + "-shm"} {
		if rerr := os.Remove(filepath.Join(c.dir, name)); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			err = errors.Join(err, rerr)
		}
	}
	return err
}
