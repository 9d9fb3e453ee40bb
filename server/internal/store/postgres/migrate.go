package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/taiwa-chat/taiwa/server/internal/kekdir"
	"github.com/taiwa-chat/taiwa/server/internal/store"
)

// migrations is append-only: never edit an entry that has shipped. The
// schema version is the number of rows in schema_migrations.
//
// Times are Unix milliseconds (UTC), as in the SQLite store, so that both
// read the same through the same rules.
var migrations = []string{
	// 1: the product's model as the SQLite store has it at its version 13,
	// less what only its history needed (clear bodies, clear refs), plus
	// what several replicas share: the feed (the order of every write and
	// the change log the replicas read) and the sealing keys.
	`
CREATE TABLE orgs (
	id         bigserial PRIMARY KEY,
	name       text NOT NULL,
	settings   jsonb NOT NULL, -- protocol.Settings
	created_at bigint NOT NULL,
	app_code   text NOT NULL UNIQUE
);

CREATE TABLE accounts (
	id            bigserial PRIMARY KEY,
	org_id        bigint NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
	role          text NOT NULL CHECK (role IN ('admin','counselor','client')),
	login_id      text NOT NULL UNIQUE,
	nickname      text NOT NULL,
	note          text NOT NULL DEFAULT '',
	access_until  bigint,
	password_hash text NOT NULL,
	created_at    bigint NOT NULL,
	totp          bytea, -- wrapped by the master key
	totp_pending  bytea,
	totp_step     bigint,
	display_name  text NOT NULL DEFAULT ''
);
CREATE INDEX accounts_org_role ON accounts(org_id, role);

CREATE TABLE sessions (
	id         bigserial PRIMARY KEY,
	account_id bigint NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	token_hash bytea NOT NULL UNIQUE,
	device     text NOT NULL DEFAULT '',
	created_at bigint NOT NULL,
	expires_at bigint NOT NULL,
	wiped_at   bigint,
	active_at  bigint,
	shared     boolean NOT NULL DEFAULT false
);
CREATE INDEX sessions_account ON sessions(account_id);
CREATE INDEX sessions_expiry ON sessions(expires_at);

CREATE TABLE ended_sessions (
	token_hash bytea PRIMARY KEY,
	session_id bigint NOT NULL,
	org_id     bigint NOT NULL,
	account_id bigint NOT NULL, -- no foreign key: a deleted client's phone still confirms
	device     text NOT NULL DEFAULT '',
	created_at bigint NOT NULL,
	ended_at   bigint NOT NULL,
	reason     text NOT NULL,
	wiped_at   bigint
);
CREATE INDEX ended_sessions_account ON ended_sessions(account_id);
CREATE INDEX ended_sessions_ended ON ended_sessions(ended_at);

CREATE TABLE conversations (
	id                   bigserial PRIMARY KEY,
	org_id               bigint NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
	client_id            bigint NOT NULL UNIQUE REFERENCES accounts(id) ON DELETE CASCADE,
	assignee_id          bigint REFERENCES accounts(id) ON DELETE SET NULL,
	status               text NOT NULL DEFAULT 'new',
	last_seq             bigint NOT NULL DEFAULT 0,
	client_wrote         boolean NOT NULL DEFAULT false,
	client_delivered_seq bigint NOT NULL DEFAULT 0,
	client_read_seq      bigint NOT NULL DEFAULT 0,
	staff_delivered_seq  bigint NOT NULL DEFAULT 0,
	staff_read_seq       bigint NOT NULL DEFAULT 0,
	waiting_since        bigint,
	notice_until         bigint,
	updated_at           bigint NOT NULL
);
CREATE INDEX conversations_org ON conversations(org_id, updated_at);

-- IDs are taken from feed.last_message under the feed lock, not from a
-- sequence: they are resume cursors and must become visible in order.
CREATE TABLE messages (
	id              bigint PRIMARY KEY,
	org_id          bigint NOT NULL,
	conversation_id bigint NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
	seq             bigint NOT NULL,
	sender_id       bigint,           -- NULL for system notices
	sender_role     text NOT NULL,
	kind            text NOT NULL,
	ref             bytea,            -- keyed hash of the sender's idempotency id
	reopens_at      bigint,
	created_at      bigint NOT NULL,
	expires_at      bigint NOT NULL,
	slice           bigint,
	sealed          bytea,            -- the body, sealed (sealkeys); never in the clear
	notice_state    text NOT NULL DEFAULT '',
	UNIQUE (conversation_id, seq)
);
CREATE UNIQUE INDEX messages_ref ON messages(sender_id, ref) WHERE ref IS NOT NULL;
CREATE INDEX messages_org_id ON messages(org_id, id);
CREATE INDEX messages_conv_id ON messages(conversation_id, id);
CREATE INDEX messages_expiry ON messages(expires_at, conversation_id, seq);

CREATE TABLE push_tokens (
	token      text PRIMARY KEY,
	session_id bigint NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
	account_id bigint NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	created_at bigint NOT NULL
);
CREATE INDEX push_tokens_account ON push_tokens(account_id);
CREATE INDEX push_tokens_session ON push_tokens(session_id);

CREATE TABLE audit_log (
	id          bigserial PRIMARY KEY,
	org_id      bigint NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
	at          bigint NOT NULL,
	actor_id    bigint,               -- NULL: the operator; no foreign key, the log outlives accounts
	actor_role  text NOT NULL,
	actor_name  text NOT NULL DEFAULT '',
	action      text NOT NULL,
	target_id   bigint,
	target_role text NOT NULL DEFAULT '',
	detail      text NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_org ON audit_log(org_id, id);
CREATE INDEX audit_log_at ON audit_log(at);
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS
	$$ BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE ON audit_log
	FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

-- The one row every write batch locks first (see package doc), with the
-- last IDs handed out under that lock.
CREATE TABLE feed (
	id           int PRIMARY KEY CHECK (id = 1),
	last_change  bigint NOT NULL,
	last_message bigint NOT NULL
);
INSERT INTO feed VALUES (1, 0, 0);

-- What each committed batch changed, for every replica to publish. A
-- message's body is sealed here as in messages.
CREATE TABLE changes (
	id   bigint PRIMARY KEY,
	at   bigint NOT NULL,
	data jsonb NOT NULL
);

-- Client and slice keys, wrapped under the key-encryption key of epoch
-- kek, which lives outside the database (kekdir).
CREATE TABLE sealing_keys (
	kind    text NOT NULL CHECK (kind IN ('client','slice')),
	id      bigint NOT NULL,
	kek     bigint NOT NULL,
	wrapped bytea NOT NULL,
	PRIMARY KEY (kind, id)
);
CREATE INDEX sealing_keys_kek ON sealing_keys(kek);

-- The current key-encryption epoch and when it began.
CREATE TABLE kek_state (
	id         int PRIMARY KEY CHECK (id = 1),
	current    bigint NOT NULL,
	rotated_at bigint NOT NULL
);
`,
	// 2: failed sign-ins, shared by the replicas so that the limits hold
	// whichever one is asked (store.LoginFailures); the sweep forgets
	// those older than a day.
	`
CREATE TABLE login_failures (
	login_id text NOT NULL,
	addr     text NOT NULL,
	at       bigint NOT NULL
);
CREATE INDEX login_failures_id ON login_failures(login_id, at);
CREATE INDEX login_failures_at ON login_failures(at);
`,
	// 3: presence across replicas (store.Presence): which replica holds a
	// live connection of which account, and when each replica last said
	// it was running (a replica killed outright stops saying so).
	`
CREATE TABLE replicas (
	id      text PRIMARY KEY,
	seen_at bigint NOT NULL
);
CREATE TABLE presence (
	replica    text NOT NULL,
	account_id bigint NOT NULL,
	PRIMARY KEY (replica, account_id)
);
CREATE INDEX presence_account ON presence(account_id);
`,
	// 4, issue 14 (the SQLite store's 14-16): staff's progress of
	// each conversation with who set it and when, and the next-contact
	// date; who last changed the note about a client; canned replies and
	// their use per staff member; decisions (numbers and times only).
	// Conversations staff already answered start in progress.
	`
ALTER TABLE conversations ADD COLUMN progress text NOT NULL DEFAULT 'new';
ALTER TABLE conversations ADD COLUMN progress_by bigint REFERENCES accounts(id) ON DELETE SET NULL;
ALTER TABLE conversations ADD COLUMN progress_at bigint;
ALTER TABLE conversations ADD COLUMN next_contact text NOT NULL DEFAULT '';
UPDATE conversations SET progress = 'in_progress' WHERE status = 'answered';
ALTER TABLE accounts ADD COLUMN note_by bigint REFERENCES accounts(id) ON DELETE SET NULL;
ALTER TABLE accounts ADD COLUMN note_at bigint;

CREATE TABLE templates (
	id         bigserial PRIMARY KEY,
	org_id     bigint NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
	owner_id   bigint REFERENCES accounts(id) ON DELETE CASCADE,
	title      text NOT NULL,
	body       text NOT NULL,
	progress   text NOT NULL DEFAULT '',
	created_at bigint NOT NULL,
	updated_at bigint NOT NULL
);
CREATE INDEX templates_org ON templates(org_id, owner_id);

CREATE TABLE template_uses (
	template_id bigint NOT NULL REFERENCES templates(id) ON DELETE CASCADE,
	account_id  bigint NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	uses        bigint NOT NULL,
	last_used   bigint NOT NULL,
	PRIMARY KEY (template_id, account_id)
);

CREATE TABLE decisions (
	conversation_id bigint NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
	seq             bigint NOT NULL,
	reply_seq       bigint NOT NULL,
	by_id           bigint NOT NULL,
	at              bigint NOT NULL,
	PRIMARY KEY (conversation_id, seq)
);
`,
	// 5, issue 13: several counselors, one organisation (the SQLite
	// store's 17 to 20). The pool (pool_since: the client wrote and nobody has the
	// conversation), staff presence, how a conversation nobody has ended
	// (outcome), nomination (指名: introduction, switch, when it lapsed,
	// when the staff member last used Taiwa; when a conversation was
	// nominated), and, naming nobody, the answer times (the typical reply
	// time) and when conversations ended as 対応できず (the weekly count).
	`
ALTER TABLE conversations ADD COLUMN pool_since bigint;
UPDATE conversations SET pool_since = COALESCE(waiting_since, updated_at) WHERE assignee_id IS NULL AND client_wrote;
CREATE INDEX conversations_assignee ON conversations(assignee_id);
CREATE INDEX conversations_pool ON conversations(pool_since) WHERE pool_since IS NOT NULL AND assignee_id IS NULL;
ALTER TABLE conversations ADD COLUMN outcome text NOT NULL DEFAULT '';
ALTER TABLE conversations ADD COLUMN nominated_at bigint;
CREATE INDEX conversations_nominated ON conversations(nominated_at) WHERE nominated_at IS NOT NULL;
ALTER TABLE accounts ADD COLUMN presence text NOT NULL DEFAULT 'available';
ALTER TABLE accounts ADD COLUMN intro text NOT NULL DEFAULT '';
ALTER TABLE accounts ADD COLUMN accept_nominations boolean NOT NULL DEFAULT false;
ALTER TABLE accounts ADD COLUMN nomination_lapsed_at bigint;
ALTER TABLE accounts ADD COLUMN seen_at bigint;
CREATE TABLE answer_waits (org_id bigint NOT NULL, at bigint NOT NULL, wait_ms bigint NOT NULL);
CREATE INDEX answer_waits_org ON answer_waits(org_id, at);
CREATE TABLE unanswered_log (org_id bigint NOT NULL, at bigint NOT NULL);
CREATE INDEX unanswered_log_org ON unanswered_log(org_id, at);
`,
	// 6: risk first (the SQLite store's 21): when a client message
	// matched a crisis phrase.
	`
ALTER TABLE conversations ADD COLUMN risk_at bigint;
`,
	// 7 (issue 14, attachments; the SQLite store's 22): uploaded files,
	// their content sealed on disk (attachfiles) in a directory every
	// replica shares; a row goes with its message or conversation.
	`
CREATE TABLE attachments (
	id              bigserial PRIMARY KEY,
	org_id          bigint NOT NULL,
	conversation_id bigint NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
	uploader_id     bigint NOT NULL,
	message_id      bigint REFERENCES messages(id) ON DELETE CASCADE,
	file            text NOT NULL UNIQUE,
	type            text NOT NULL,
	size            bigint NOT NULL,
	slice           bigint NOT NULL,
	created_at      bigint NOT NULL,
	expires_at      bigint NOT NULL
);
CREATE INDEX attachments_message ON attachments(message_id);
CREATE INDEX attachments_conversation ON attachments(conversation_id);
CREATE INDEX attachments_expiry ON attachments(expires_at);
ALTER TABLE messages ADD COLUMN att_id bigint;
ALTER TABLE messages ADD COLUMN att_type text;
ALTER TABLE messages ADD COLUMN att_size bigint;
`,
	// Issue 16 (the SQLite store's client groups): every client belongs
	// to one group, each organisation's default group holds those
	// registered before; registrars register clients of their groups.
	`
CREATE TABLE client_groups (
	id           bigserial PRIMARY KEY,
	org_id       bigint NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
	name         text NOT NULL,
	access_until bigint,
	is_default   boolean NOT NULL DEFAULT false,
	created_at   bigint NOT NULL,
	UNIQUE (org_id, name)
);
CREATE UNIQUE INDEX client_groups_default ON client_groups(org_id) WHERE is_default;
INSERT INTO client_groups(org_id, name, is_default, created_at) SELECT id, '` + store.DefaultGroupName + `', true, created_at FROM orgs;
ALTER TABLE accounts ADD COLUMN group_id bigint REFERENCES client_groups(id);
UPDATE accounts SET group_id = (SELECT g.id FROM client_groups g WHERE g.org_id = accounts.org_id AND g.is_default) WHERE role = 'client';
CREATE INDEX accounts_group ON accounts(group_id);
CREATE TABLE registrar_groups (
	account_id bigint NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	group_id   bigint NOT NULL REFERENCES client_groups(id) ON DELETE CASCADE,
	PRIMARY KEY (account_id, group_id)
);
ALTER TABLE accounts DROP CONSTRAINT accounts_role_check;
ALTER TABLE accounts ADD CONSTRAINT accounts_role_check CHECK (role IN ('admin','counselor','client','registrar'));
`,
	// Issue 16: announcements (the SQLite store's).
	`
CREATE TABLE announcements (
	id         bigserial PRIMARY KEY,
	org_id     bigint NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
	body       text NOT NULL,
	group_ids  text NOT NULL DEFAULT '[]',
	starts_at  bigint,
	ends_at    bigint,
	expires_at bigint NOT NULL,
	created_at bigint NOT NULL
);
CREATE INDEX announcements_org ON announcements(org_id, expires_at);
CREATE INDEX announcements_expiry ON announcements(expires_at);
`,
	// Issue 16: the provisioning API's keys and Idempotency-Keys (the
	// SQLite store's).
	`
CREATE TABLE api_keys (
	id         bigserial PRIMARY KEY,
	org_id     bigint NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
	name       text NOT NULL,
	group_ids  text NOT NULL,
	token_hash bytea NOT NULL UNIQUE,
	created_at bigint NOT NULL,
	revoked_at bigint
);
CREATE TABLE idempotency (
	key_id       bigint NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
	idem_key     text NOT NULL,
	request_hash bytea NOT NULL,
	account_id   bigint NOT NULL,
	group_id     bigint NOT NULL,
	sealed       bytea NOT NULL,
	created_at   bigint NOT NULL,
	PRIMARY KEY (key_id, idem_key)
);
CREATE INDEX idempotency_created ON idempotency(created_at);
`,
	// Issue 16: usage figures per group (the SQLite store's).
	`
CREATE TABLE usage_events (
	org_id   bigint NOT NULL,
	group_id bigint NOT NULL,
	week     text NOT NULL,
	kind     text NOT NULL,
	wait_ms  bigint NOT NULL DEFAULT 0
);
CREATE INDEX usage_events_org ON usage_events(org_id, week);
ALTER TABLE accounts ADD COLUMN wrote_week text NOT NULL DEFAULT '';
`,
}

// migrate applies what migrations the database lacks, one replica at a
// time: replicas starting together wait for the advisory lock, and the
// later ones find the work done. The first epoch's key-encryption key is
// made under the same lock.
func migrate(ctx context.Context, pool *pgxpool.Pool, kek *kekdir.Dir) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1, $2)", lockNamespace, lockMigrate); err != nil {
		return fmt.Errorf("migrate: take the lock: %w", err)
	}
	defer conn.Exec(context.Background(), "SELECT pg_advisory_unlock($1, $2)", lockNamespace, lockMigrate) //nolint:errcheck // the session's end frees it too
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var version int
	if err := conn.QueryRow(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&version); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if version > len(migrations) {
		return fmt.Errorf("database schema version %d is newer than this program knows (%d): refusing to start", version, len(migrations))
	}
	for v := version + 1; v <= len(migrations); v++ {
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, migrations[v-1]); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO schema_migrations(version) VALUES ($1)", v)
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %d: %w", v, err)
		}
	}
	var epochs int
	if err := conn.QueryRow(ctx, "SELECT COUNT(*) FROM kek_state").Scan(&epochs); err != nil {
		return fmt.Errorf("read key-encryption epoch: %w", err)
	}
	if epochs == 0 {
		if err := kek.Create(1); err != nil {
			return err
		}
		if _, err := conn.Exec(ctx, "INSERT INTO kek_state VALUES (1, 1, 0)"); err != nil {
			return fmt.Errorf("record key-encryption epoch: %w", err)
		}
	}
	return nil
}
