package sqlite

import (
	"database/sql"
	"fmt"
)

// migrations is append-only: never edit an entry that has shipped. The
// schema version is PRAGMA user_version = len(applied migrations).
//
// Times are Unix milliseconds (UTC).
var migrations = []string{
	// 1: the whole product's model: organisations, accounts (staff and
	// clients share one login namespace), sessions, one conversation per
	// client with an assignee and a status, messages.
	`
CREATE TABLE orgs (
	id         INTEGER PRIMARY KEY,
	name       TEXT NOT NULL,
	settings   TEXT NOT NULL, -- JSON protocol.Settings
	created_at INTEGER NOT NULL
);

CREATE TABLE accounts (
	id            INTEGER PRIMARY KEY,
	org_id        INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
	role          TEXT NOT NULL CHECK (role IN ('admin','counselor','client')),
	login_id      TEXT NOT NULL UNIQUE,
	nickname      TEXT NOT NULL,
	note          TEXT NOT NULL DEFAULT '',
	access_until  INTEGER,
	password_hash TEXT NOT NULL,
	created_at    INTEGER NOT NULL
);
CREATE INDEX accounts_org_role ON accounts(org_id, role);

CREATE TABLE sessions (
	id           INTEGER PRIMARY KEY,
	account_id   INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	token_hash   BLOB NOT NULL UNIQUE,
	device       TEXT NOT NULL DEFAULT '',
	created_at   INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL
);
CREATE INDEX sessions_account ON sessions(account_id);
CREATE INDEX sessions_expiry ON sessions(expires_at);

CREATE TABLE conversations (
	id                   INTEGER PRIMARY KEY,
	org_id               INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
	client_id            INTEGER NOT NULL UNIQUE REFERENCES accounts(id) ON DELETE CASCADE,
	assignee_id          INTEGER REFERENCES accounts(id) ON DELETE SET NULL,
	status               TEXT NOT NULL DEFAULT 'new',
	last_seq             INTEGER NOT NULL DEFAULT 0,
	client_wrote         INTEGER NOT NULL DEFAULT 0,
	client_delivered_seq INTEGER NOT NULL DEFAULT 0,
	client_read_seq      INTEGER NOT NULL DEFAULT 0,
	staff_delivered_seq  INTEGER NOT NULL DEFAULT 0,
	staff_read_seq       INTEGER NOT NULL DEFAULT 0,
	waiting_since        INTEGER,
	notice_until         INTEGER, -- no closed notice again before this time
	updated_at           INTEGER NOT NULL
);
CREATE INDEX conversations_org ON conversations(org_id);

-- AUTOINCREMENT: message IDs are resume cursors and must never be reused,
-- even after the newest message is deleted.
CREATE TABLE messages (
	id              INTEGER PRIMARY KEY AUTOINCREMENT,
	org_id          INTEGER NOT NULL,
	conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
	seq             INTEGER NOT NULL,
	sender_id       INTEGER,           -- NULL for system notices
	sender_role     TEXT NOT NULL,
	kind            TEXT NOT NULL,
	ref             TEXT,              -- the sender's idempotency id
	body            TEXT NOT NULL DEFAULT '',
	reopens_at      INTEGER,
	created_at      INTEGER NOT NULL,
	expires_at      INTEGER NOT NULL,
	UNIQUE (conversation_id, seq)
);
CREATE UNIQUE INDEX messages_ref ON messages(sender_id, ref) WHERE ref IS NOT NULL;
CREATE INDEX messages_org_id ON messages(org_id, id);
CREATE INDEX messages_conv_id ON messages(conversation_id, id);
CREATE INDEX messages_expiry ON messages(expires_at);
`,
	// 2: push tokens, one row per device that asked to be told of replies.
	`
CREATE TABLE push_tokens (
	token      TEXT PRIMARY KEY,
	account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	created_at INTEGER NOT NULL
);
CREATE INDEX push_tokens_account ON push_tokens(account_id);
`,
	// 3: a push token belongs to the session that registered it, so that
	// signing out, a forced logout or an expired session also stops the
	// phone's notices. Tokens without a session are dropped; the app
	// registers again when it next opens.
	`
DROP TABLE push_tokens;
CREATE TABLE push_tokens (
	token      TEXT PRIMARY KEY,
	session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
	account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	created_at INTEGER NOT NULL
);
CREATE INDEX push_tokens_account ON push_tokens(account_id);
CREATE INDEX push_tokens_session ON push_tokens(session_id);
`,
	// 4: each organisation's own app address (/a/<code>/), so that its
	// clients can install the app under the neutral name and icon it
	// chose. The code only has to be unguessable, not secret.
	`
ALTER TABLE orgs ADD COLUMN app_code TEXT;
UPDATE orgs SET app_code = lower(hex(randomblob(8)));
CREATE UNIQUE INDEX orgs_app_code ON orgs(app_code);
`,
	// 5: the audit log. Entries are never changed; the sweeper removes
	// those older than the organisation's audit retention.
	`
CREATE TABLE audit_log (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	org_id      INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
	at          INTEGER NOT NULL,
	actor_id    INTEGER,               -- NULL: the operator; no foreign key, the log outlives accounts
	actor_role  TEXT NOT NULL,
	actor_name  TEXT NOT NULL DEFAULT '',
	action      TEXT NOT NULL,
	target_id   INTEGER,
	target_role TEXT NOT NULL DEFAULT '',
	detail      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_org ON audit_log(org_id, id);
CREATE INDEX audit_log_at ON audit_log(at);
CREATE TRIGGER audit_log_append_only BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
`,
	// 6: message bodies sealed (pkg/keyring): slice names the expiry slice
	// whose key, with the client's, seals the body. Open seals the bodies
	// stored in the clear before.
	`
ALTER TABLE messages ADD COLUMN slice INTEGER;
ALTER TABLE messages ADD COLUMN sealed BLOB;
`,
	// 7: deletion receipts. A live session records the latest deletion its
	// device confirmed; an ended session leaves a record (kept 30 days) so
	// that a device told to wipe at its end can still confirm it did.
	`
ALTER TABLE sessions ADD COLUMN wiped_at INTEGER;
CREATE TABLE ended_sessions (
	token_hash BLOB PRIMARY KEY,
	session_id INTEGER NOT NULL,
	org_id     INTEGER NOT NULL,
	account_id INTEGER NOT NULL, -- no foreign key: a deleted client's phone still confirms
	device     TEXT NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL,
	ended_at   INTEGER NOT NULL,
	reason     TEXT NOT NULL,
	wiped_at   INTEGER
);
CREATE INDEX ended_sessions_account ON ended_sessions(account_id);
CREATE INDEX ended_sessions_ended ON ended_sessions(ended_at);
`,
	// 8: when a session was last used by a person (staff sessions expire
	// after Options.StaffIdle without use).
	`
ALTER TABLE sessions ADD COLUMN active_at INTEGER;
`,
	// 9: an optional second factor for staff (TOTP). Secrets are wrapped by
	// the master key; totp_step is the last time step used (no replay).
	`
ALTER TABLE accounts ADD COLUMN totp BLOB;
ALTER TABLE accounts ADD COLUMN totp_pending BLOB;
ALTER TABLE accounts ADD COLUMN totp_step INTEGER;
`,
	// 10: the name a staff member shows clients above their replies, and
	// why a closed notice was added (closed or paused: the app says which).
	`
ALTER TABLE accounts ADD COLUMN display_name TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN notice_state TEXT NOT NULL DEFAULT '';
`,
}

func migrate(db *sql.DB) error {
	var version int
	if err := db.QueryRow("PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if version > len(migrations) {
		return fmt.Errorf("database schema version %d is newer than this program knows (%d): refusing to start", version, len(migrations))
	}
	for v := version; v < len(migrations); v++ {
		tx, err := db.Begin()
		if err != nil {
			return fmt.Errorf("migration %d: %w", v+1, err)
		}
		if _, err := tx.Exec(migrations[v]); err != nil {
			tx.Rollback() //nolint:errcheck
			return fmt.Errorf("migration %d: %w", v+1, err)
		}
		// PRAGMA does not take bound parameters.
		if _, err := tx.Exec(fmt.Sprintf("PRAGMA user_version = %d", v+1)); err != nil {
			tx.Rollback() //nolint:errcheck
			return fmt.Errorf("migration %d: set version: %w", v+1, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migration %d: commit: %w", v+1, err)
		}
	}
	return nil
}
