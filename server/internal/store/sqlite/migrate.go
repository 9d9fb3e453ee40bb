package sqlite

import (
	"database/sql"
	"fmt"
	"strings"

	"github.com/taiwa-chat/taiwa/server/internal/store"
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
	// 6: message bodies sealed (server/internal/sealkeys): slice names the expiry slice
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
	// 10: IDs are never reused. Without AUTOINCREMENT SQLite hands out
	// max(id)+1, so deleting the newest client gave the next client the
	// same account and conversation ID: an app that was offline meanwhile
	// could file the old client's messages under the new one. The tables
	// are rebuilt with AUTOINCREMENT (SQLite's documented procedure: with
	// foreign keys off, see migrateOffline) and their counters start above
	// every ID still named anywhere (ended sessions, the audit log).
	// Shared-device sessions are marked: they end after a short idle time.
	`
CREATE TABLE orgs_new (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	name       TEXT NOT NULL,
	settings   TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	app_code   TEXT
);
INSERT INTO orgs_new(id, name, settings, created_at, app_code) SELECT id, name, settings, created_at, app_code FROM orgs;
DROP TABLE orgs;
ALTER TABLE orgs_new RENAME TO orgs;
CREATE UNIQUE INDEX orgs_app_code ON orgs(app_code);

CREATE TABLE accounts_new (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	org_id        INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
	role          TEXT NOT NULL CHECK (role IN ('admin','counselor','client')),
	login_id      TEXT NOT NULL UNIQUE,
	nickname      TEXT NOT NULL,
	note          TEXT NOT NULL DEFAULT '',
	access_until  INTEGER,
	password_hash TEXT NOT NULL,
	created_at    INTEGER NOT NULL,
	totp          BLOB,
	totp_pending  BLOB,
	totp_step     INTEGER
);
INSERT INTO accounts_new SELECT id, org_id, role, login_id, nickname, note, access_until, password_hash, created_at, totp, totp_pending, totp_step FROM accounts;
DROP TABLE accounts;
ALTER TABLE accounts_new RENAME TO accounts;
CREATE INDEX accounts_org_role ON accounts(org_id, role);

CREATE TABLE sessions_new (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	account_id   INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	token_hash   BLOB NOT NULL UNIQUE,
	device       TEXT NOT NULL DEFAULT '',
	created_at   INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL,
	wiped_at     INTEGER,
	active_at    INTEGER,
	shared       INTEGER NOT NULL DEFAULT 0
);
INSERT INTO sessions_new(id, account_id, token_hash, device, created_at, expires_at, wiped_at, active_at)
	SELECT id, account_id, token_hash, device, created_at, expires_at, wiped_at, active_at FROM sessions;
DROP TABLE sessions;
ALTER TABLE sessions_new RENAME TO sessions;
CREATE INDEX sessions_account ON sessions(account_id);
CREATE INDEX sessions_expiry ON sessions(expires_at);

CREATE TABLE conversations_new (
	id                   INTEGER PRIMARY KEY AUTOINCREMENT,
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
	notice_until         INTEGER,
	updated_at           INTEGER NOT NULL
);
INSERT INTO conversations_new SELECT id, org_id, client_id, assignee_id, status, last_seq, client_wrote, client_delivered_seq,
	client_read_seq, staff_delivered_seq, staff_read_seq, waiting_since, notice_until, updated_at FROM conversations;
DROP TABLE conversations;
ALTER TABLE conversations_new RENAME TO conversations;
CREATE INDEX conversations_org ON conversations(org_id);

DELETE FROM sqlite_sequence WHERE name IN ('orgs', 'accounts', 'sessions', 'conversations');
INSERT INTO sqlite_sequence(name, seq) VALUES
	('orgs', (SELECT MAX(v) FROM (SELECT MAX(id) AS v FROM orgs UNION ALL SELECT MAX(org_id) FROM audit_log UNION ALL SELECT 0))),
	('accounts', (SELECT MAX(v) FROM (SELECT MAX(id) AS v FROM accounts UNION ALL SELECT MAX(account_id) FROM ended_sessions
		UNION ALL SELECT MAX(target_id) FROM audit_log UNION ALL SELECT MAX(actor_id) FROM audit_log UNION ALL SELECT 0))),
	('sessions', (SELECT MAX(v) FROM (SELECT MAX(id) AS v FROM sessions UNION ALL SELECT MAX(session_id) FROM ended_sessions UNION ALL SELECT 0))),
	('conversations', (SELECT MAX(v) FROM (SELECT MAX(id) AS v FROM conversations UNION ALL SELECT MAX(conversation_id) FROM messages UNION ALL SELECT 0)));
`,
	// 11: one-time upgrades done in Go at start (hashing the idempotency
	// refs stored in the clear before), recorded so that they never scan
	// the messages again.
	`
CREATE TABLE upgrades (
	name    TEXT PRIMARY KEY,
	done_at INTEGER NOT NULL
);
`,
	// 12: the name a staff member shows clients above their replies, and
	// why a closed notice was added (closed or paused: the app says which).
	`
ALTER TABLE accounts ADD COLUMN display_name TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN notice_state TEXT NOT NULL DEFAULT '';
`,
	// 13: the retention sweep takes expired messages in order of expiry,
	// conversation and seq, a batch at a time: the index gives that order
	// without sorting every expired message for each batch.
	`
DROP INDEX messages_expiry;
CREATE INDEX messages_expiry ON messages(expires_at, conversation_id, seq);
`,
	// 14 (issue 14): staff's progress of each
	// conversation with who set it and when, and the next-contact date
	// (a calendar date, YYYY-MM-DD); canned replies, the organisation's
	// (owner_id NULL) and personal ones, and how often each staff member
	// used each. Conversations staff already answered start in progress.
	`
ALTER TABLE conversations ADD COLUMN progress TEXT NOT NULL DEFAULT 'new';
ALTER TABLE conversations ADD COLUMN progress_by INTEGER REFERENCES accounts(id) ON DELETE SET NULL;
ALTER TABLE conversations ADD COLUMN progress_at INTEGER;
ALTER TABLE conversations ADD COLUMN next_contact TEXT NOT NULL DEFAULT '';
UPDATE conversations SET progress = 'in_progress' WHERE status = 'answered';

CREATE TABLE templates (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	org_id     INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
	owner_id   INTEGER REFERENCES accounts(id) ON DELETE CASCADE,
	title      TEXT NOT NULL,
	body       TEXT NOT NULL,
	progress   TEXT NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);
CREATE INDEX templates_org ON templates(org_id, owner_id);

CREATE TABLE template_uses (
	template_id INTEGER NOT NULL REFERENCES templates(id) ON DELETE CASCADE,
	account_id  INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	uses        INTEGER NOT NULL,
	last_used   INTEGER NOT NULL,
	PRIMARY KEY (template_id, account_id)
) WITHOUT ROWID;
`,
	// 15 (issue 14, appended after 14): decisions (決定), a client's
	// message confirmed by a staff reply; numbers and times only, no
	// text, kept with the conversation and deleted with the client.
	`
CREATE TABLE decisions (
	conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
	seq             INTEGER NOT NULL,
	reply_seq       INTEGER NOT NULL,
	by_id           INTEGER NOT NULL,
	at              INTEGER NOT NULL,
	PRIMARY KEY (conversation_id, seq)
) WITHOUT ROWID;
`,
	// 16 (issue 14, appended after 15): who last changed staff's note
	// about a client, and when.
	`
ALTER TABLE accounts ADD COLUMN note_by INTEGER REFERENCES accounts(id) ON DELETE SET NULL;
ALTER TABLE accounts ADD COLUMN note_at INTEGER;
`,
	// 17 (issue 13): several counselors, one organisation. A conversation nobody has
	// waits in the pool from pool_since (the client wrote); the assignee's
	// conversations are found by assignee. Conversations nobody had before
	// (none: a reply took them) enter the pool from when their client
	// began waiting.
	`
ALTER TABLE conversations ADD COLUMN pool_since INTEGER;
UPDATE conversations SET pool_since = COALESCE(waiting_since, updated_at) WHERE assignee_id IS NULL AND client_wrote = 1;
CREATE INDEX conversations_assignee ON conversations(assignee_id);
`,
	// 18: presence (受付中, 離席, 受付停止) of staff, and how a conversation
	// nobody has ended (ended: its counselor ended it).
	`
ALTER TABLE accounts ADD COLUMN presence TEXT NOT NULL DEFAULT 'available';
ALTER TABLE conversations ADD COLUMN outcome TEXT NOT NULL DEFAULT '';
`,
	// 19: nomination (指名): a staff member's introduction and switch,
	// when they last used Taiwa (the switch lapses), when it lapsed (their
	// app says why); when a conversation was nominated, until taken.
	`
ALTER TABLE accounts ADD COLUMN intro TEXT NOT NULL DEFAULT '';
ALTER TABLE accounts ADD COLUMN accept_nominations INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN nomination_lapsed_at INTEGER;
ALTER TABLE accounts ADD COLUMN seen_at INTEGER;
ALTER TABLE conversations ADD COLUMN nominated_at INTEGER;
CREATE INDEX conversations_nominated ON conversations(nominated_at) WHERE nominated_at IS NOT NULL;
`,
	// 20: no client left without an answer. How long staff took to answer
	// a waiting client (the client app's typical reply time: a median of
	// the last 30 days), and when conversations ended as 対応できず (the
	// admins' weekly count). Neither names a client or a counselor.
	`
CREATE TABLE answer_waits (org_id INTEGER NOT NULL, at INTEGER NOT NULL, wait_ms INTEGER NOT NULL);
CREATE INDEX answer_waits_org ON answer_waits(org_id, at);
CREATE TABLE unanswered_log (org_id INTEGER NOT NULL, at INTEGER NOT NULL);
CREATE INDEX unanswered_log_org ON unanswered_log(org_id, at);
CREATE INDEX conversations_pool ON conversations(pool_since) WHERE pool_since IS NOT NULL AND assignee_id IS NULL;
`,
	// 21: risk first: when a client message matched a crisis phrase.
	`
ALTER TABLE conversations ADD COLUMN risk_at INTEGER;
`,
	// 22 (issue 14, attachments): uploaded files, their content sealed on
	// disk under file (attachfiles), with the client's and slice's keys;
	// a row goes with its message or conversation (cascade) and the sweep
	// removes files without a row. A message keeps what apps show of its
	// file (att_*), never a file name.
	`
CREATE TABLE attachments (
	id              INTEGER PRIMARY KEY AUTOINCREMENT,
	org_id          INTEGER NOT NULL,
	conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
	uploader_id     INTEGER NOT NULL,
	message_id      INTEGER REFERENCES messages(id) ON DELETE CASCADE,
	file            TEXT NOT NULL UNIQUE,
	type            TEXT NOT NULL,
	size            INTEGER NOT NULL,
	slice           INTEGER NOT NULL,
	created_at      INTEGER NOT NULL,
	expires_at      INTEGER NOT NULL
);
CREATE INDEX attachments_message ON attachments(message_id);
CREATE INDEX attachments_conversation ON attachments(conversation_id);
CREATE INDEX attachments_expiry ON attachments(expires_at);
ALTER TABLE messages ADD COLUMN att_id INTEGER;
ALTER TABLE messages ADD COLUMN att_type TEXT;
ALTER TABLE messages ADD COLUMN att_size INTEGER;
`,
	// Issue 16: client groups and the registrar role. Every client belongs
	// to one group; each organisation's default group holds the clients
	// registered before groups existed. A registrar registers clients of
	// their groups (registrar_groups). The role's CHECK is widened in
	// place, as SQLite documents for loosening a constraint: no row
	// changes, and a rebuild of accounts would have to name every column
	// other branches add (apply bumps schema_version after it).
	`
CREATE TABLE client_groups (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	org_id       INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
	name         TEXT NOT NULL,
	access_until INTEGER,
	is_default   INTEGER NOT NULL DEFAULT 0,
	created_at   INTEGER NOT NULL,
	UNIQUE (org_id, name)
);
CREATE UNIQUE INDEX client_groups_default ON client_groups(org_id) WHERE is_default = 1;
INSERT INTO client_groups(org_id, name, is_default, created_at) SELECT id, '` + store.DefaultGroupName + `', 1, created_at FROM orgs;
ALTER TABLE accounts ADD COLUMN group_id INTEGER REFERENCES client_groups(id);
UPDATE accounts SET group_id = (SELECT g.id FROM client_groups g WHERE g.org_id = accounts.org_id AND g.is_default = 1) WHERE role = 'client';
CREATE INDEX accounts_group ON accounts(group_id);
CREATE TABLE registrar_groups (
	account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	group_id   INTEGER NOT NULL REFERENCES client_groups(id) ON DELETE CASCADE,
	PRIMARY KEY (account_id, group_id)
) WITHOUT ROWID;
PRAGMA writable_schema = ON;
UPDATE sqlite_schema SET sql = replace(sql, '(''admin'',''counselor'',''client'')', '(''admin'',''counselor'',''client'',''registrar'')')
	WHERE type = 'table' AND name = 'accounts';
`,
	// Issue 16: announcements (お知らせ) to all clients or chosen groups
	// (group_ids, a JSON array; [] for all), deleted at expires_at.
	`
CREATE TABLE announcements (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	org_id     INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
	body       TEXT NOT NULL,
	group_ids  TEXT NOT NULL DEFAULT '[]',
	starts_at  INTEGER,
	ends_at    INTEGER,
	expires_at INTEGER NOT NULL,
	created_at INTEGER NOT NULL
);
CREATE INDEX announcements_org ON announcements(org_id, expires_at);
CREATE INDEX announcements_expiry ON announcements(expires_at);
`,
	// Issue 16: the provisioning API's keys (by hash, scoped to groups)
	// and the Idempotency-Keys of the clients they made (the answer sealed
	// under a key derived from the API key and the Idempotency-Key, which
	// the server does not keep), remembered for a day.
	`
CREATE TABLE api_keys (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	org_id     INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
	name       TEXT NOT NULL,
	group_ids  TEXT NOT NULL,
	token_hash BLOB NOT NULL UNIQUE,
	created_at INTEGER NOT NULL,
	revoked_at INTEGER
);
CREATE TABLE idempotency (
	key_id       INTEGER NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
	idem_key     TEXT NOT NULL,
	request_hash BLOB NOT NULL,
	account_id   INTEGER NOT NULL,
	group_id     INTEGER NOT NULL,
	sealed       BLOB NOT NULL,
	created_at   INTEGER NOT NULL,
	PRIMARY KEY (key_id, idem_key)
);
CREATE INDEX idempotency_created ON idempotency(created_at);
`,
	// Issue 16: usage figures per group. Events name a group, a week (its
	// Monday in the organisation's time zone) and, for answers, the wait:
	// never a client. wrote_week keeps a client's "wrote" to one a week.
	`
CREATE TABLE usage_events (
	org_id  INTEGER NOT NULL,
	group_id INTEGER NOT NULL,
	week    TEXT NOT NULL,
	kind    TEXT NOT NULL,
	wait_ms INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX usage_events_org ON usage_events(org_id, week);
ALTER TABLE accounts ADD COLUMN wrote_week TEXT NOT NULL DEFAULT '';
`,
}

// offline lists the migrations that rebuild tables: they run with foreign
// keys off (PRAGMA foreign_keys cannot change inside a transaction), and
// the result is checked with PRAGMA foreign_key_check before the commit.
var offline = map[int]bool{10: true}

func migrate(db *sql.DB) error {
	var version int
	if err := db.QueryRow("PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if version > len(migrations) {
		return fmt.Errorf("database schema version %d is newer than this program knows (%d): refusing to start", version, len(migrations))
	}
	for v := version; v < len(migrations); v++ {
		if err := apply(db, v+1); err != nil {
			return fmt.Errorf("migration %d: %w", v+1, err)
		}
	}
	return nil
}

// apply runs migration number n in its own transaction. db has one
// connection (the writer), so the pragmas around it hold for the
// transaction.
func apply(db *sql.DB, n int) (err error) {
	if offline[n] {
		if _, err := db.Exec("PRAGMA foreign_keys = OFF"); err != nil {
			return err
		}
		defer func() {
			if _, ferr := db.Exec("PRAGMA foreign_keys = ON"); ferr != nil && err == nil {
				err = ferr
			}
		}()
	}
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit this is a no-op
	if _, err := tx.Exec(migrations[n-1]); err != nil {
		return err
	}
	if strings.Contains(migrations[n-1], "PRAGMA writable_schema = ON") {
		// A schema edited in place: every connection must reload it
		// (SQLite's documented procedure bumps schema_version).
		var sv int
		if err := tx.QueryRow("PRAGMA schema_version").Scan(&sv); err != nil {
			return fmt.Errorf("read schema_version: %w", err)
		}
		if _, err := tx.Exec(fmt.Sprintf("PRAGMA schema_version = %d", sv+1)); err != nil {
			return fmt.Errorf("bump schema_version: %w", err)
		}
		if _, err := tx.Exec("PRAGMA writable_schema = OFF"); err != nil {
			return err
		}
		var ok string
		if err := tx.QueryRow("PRAGMA integrity_check").Scan(&ok); err != nil || ok != "ok" {
			return fmt.Errorf("integrity after the schema edit: %q %v", ok, err)
		}
	}
	if offline[n] {
		rows, err := tx.Query("PRAGMA foreign_key_check")
		if err != nil {
			return err
		}
		bad := rows.Next()
		rows.Close()
		if bad {
			return fmt.Errorf("foreign keys broken by the rebuild")
		}
	}
	// PRAGMA does not take bound parameters.
	if _, err := tx.Exec(fmt.Sprintf("PRAGMA user_version = %d", n)); err != nil {
		return fmt.Errorf("set version: %w", err)
	}
	return tx.Commit()
}
