// Package store defines what Taiwa keeps. The SQLite implementation in
// store/sqlite is the embedded default; another database plugs in by
// implementing Store and passing store/storetest, the conformance suite.
// What is allowed is decided by package rules; implementations load rows,
// ask the rules and write the outcome in one transaction.
//
// Every read and write takes the acting Principal, and implementations
// enforce visibility in their queries: a client reaches only their own
// conversation, staff only their own organisation.
package store

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// Principal is who is acting.
type Principal struct {
	AccountID int64
	OrgID     int64
	Role      protocol.Role
	// KeyID is an API key acting (issue 16): Role is then RoleRegistrar,
	// AccountID 0, and the key's groups are its scope.
	KeyID int64
}

// IsStaff reports whether the principal is an admin or counselor.
func (p Principal) IsStaff() bool { return p.Role.IsStaff() }

// AccountRecord is an account with its secrets, for sign-in only.
type AccountRecord struct {
	protocol.Account
	PasswordHash string
}

// Principal returns the account acting as itself.
func (a AccountRecord) Principal() Principal {
	return Principal{AccountID: a.ID, OrgID: a.OrgID, Role: a.Role}
}

// NewAccount describes an account to create. LoginID must be unused.
type NewAccount struct {
	OrgID        int64
	Role         protocol.Role
	LoginID      string
	Nickname     string
	Note         string
	AccessUntil  *time.Time
	PasswordHash string
	// Issue 16: a client's group (0: the organisation's default group),
	// and a registrar's groups.
	GroupID  int64
	GroupIDs []int64
	// Idem, for a client made through the provisioning API, is recorded
	// in the same transaction: a second request with the same key finds
	// it and creates nothing (ErrIdempotencyKeyUsed).
	Idem *NewIdempotency
}

// NewIdempotency is an Idempotency-Key's record about to be made with the
// client it created. Seal makes the stored answer for the login ID the
// account gets (sealed under a key only the caller can derive again).
type NewIdempotency struct {
	KeyID       int64
	Key         string
	RequestHash []byte
	Seal        func(loginID string) []byte
}

// Idempotency is a recorded creating request of an API key.
type Idempotency struct {
	KeyID       int64
	Key         string
	RequestHash []byte
	AccountID   int64
	GroupID     int64
	Sealed      []byte
	CreatedAt   time.Time
}

// ErrIdempotencyKeyUsed: the API key already made a client with this
// Idempotency-Key (a retry, or a concurrent twin that committed first).
var ErrIdempotencyKeyUsed = errors.New("idempotency key already used")

// IdempotencyKept is how long an Idempotency-Key is remembered.
const IdempotencyKept = 24 * time.Hour

// Session is a signed-in device.
type Session struct {
	ID        int64
	AccountID int64
	Device    string
	CreatedAt time.Time
	ExpiresAt time.Time
	ActiveAt  time.Time // last used by a person (see TouchSession)
	// Shared marks a sign-in on a device others use: it ends after a
	// short time without use.
	Shared bool
}

// NewSession describes a sign-in to record.
type NewSession struct {
	AccountID int64
	TokenHash []byte
	Device    string
	ExpiresAt time.Time
	Shared    bool
}

// ConversationState is a conversation as the rules see it: what apps see,
// plus what only the server keeps.
type ConversationState struct {
	protocol.Conversation
	OrgID int64
	// ClientWrote: the client has written at least once (staff may then
	// answer, whatever staff_may_write_first says).
	ClientWrote bool
	// NoticeUntil: no closed notice again before this time (one per
	// closed stretch); nil when none was given.
	NoticeUntil *time.Time
}

// SendRequest is one message to store.
type SendRequest struct {
	Ref            string
	ConversationID int64 // ignored for clients
	Body           string
	// Staff only: the progress the reply sets (rules.ProgressAfterSend)
	// and the template it was made from (counted, never required).
	Progress   protocol.ProgressRequest
	TemplateID int64
	Decides    int64 // the seq of a client's message the reply confirms as decided (決定)
	// Kind is protocol.KindNote for a staff-only note ("": a message).
	Kind protocol.MessageKind
	// Attachment is the ID of the sender's unsent upload to this
	// conversation that the message carries (rules.AttachToMessage); the
	// body may then be empty.
	Attachment int64
	// Conn names the live connection that sent it (0: none), copied into
	// the message's Change: a connection is not sent its own message back
	// when its ack carries it (protocol version 2).
	Conn uint64
}

// ChangeKind says what a Change carries.
type ChangeKind int

// Kinds of change published after each commit.
const (
	ChangeMessage             ChangeKind = iota + 1 // Message, ClientID
	ChangeConversation                              // Conversation
	ChangeConversationDeleted                       // ConversationID, ClientID
	ChangeDeleted                                   // ConversationID, ClientID, ThroughSeq, Count
	ChangeSettings                                  // Org
	ChangeRevoked                                   // SessionIDs or AccountID (all its sessions), Reason
	ChangeAccess                                    // AccountID, AccessUntil: a client's access period changed
	// ChangePresence: a staff member's presence or number of
	// conversations changed (AccountID, Presence, Open).
	ChangePresence
	// ChangeOffered: the pool began or stopped being offered to a
	// counselor (AccountID, Offered); Pool is what waits in it then.
	ChangeOffered
	// ChangeNews: an announcement for ClientIDs (issue 16); their apps
	// are told there is news, and phones without a connection get a
	// content-free push.
	ChangeNews
)

// Change is something that connected apps may need to hear about. Changes
// are published in commit order, after the commit is durable.
//
// Who hears of a change is decided by rules.ReadAccess from the
// conversation it is about: a ChangeMessage carries the conversation as
// it is after the message (its assignee reads it, the pool does not), and
// a ChangeConversation the conversation before the change too (Before),
// so that whoever could see it and no longer can is told to forget it.
type Change struct {
	Kind           ChangeKind
	OrgID          int64
	ClientID       int64 // the conversation's client, for routing
	ConversationID int64
	Message        *protocol.Message
	// Conversation: ChangeConversation's new state; ChangeMessage's
	// conversation after the message (for routing).
	Conversation *protocol.Conversation
	// Before is a ChangeConversation's conversation before the change
	// (nil for a new conversation).
	Before      *protocol.Conversation
	ThroughSeq  int64
	Count       int
	Org         *protocol.Org
	AccountID   int64
	SessionIDs  []int64
	Reason      string
	At          time.Time  // when a deletion happened (the apps' receipts name it)
	AccessUntil *time.Time // ChangeAccess: the new end of the access period (nil: none)
	// ChangePresence and ChangeOffered.
	Presence protocol.Presence
	Open     int
	Offered  bool
	Pool     []protocol.Conversation
	// ChangeNews: the clients an announcement is for.
	ClientIDs []int64
	// StaffOnly: a ChangeConversation only staff hear of (a change of
	// progress: the client is not even told that something changed).
	StaffOnly bool
	// Remote marks a change another server committed (several servers on
	// one database): every server tells its own connections, only the
	// committing one acts beyond them (a push notice).
	Remote bool
	// Conn is a ChangeMessage's SendRequest.Conn: the connection whose
	// ack carries the message. Connections are numbered per server, so a
	// remote change's Conn means nothing here (zero it).
	Conn uint64 `json:",omitempty"`
}

// Snapshot is the state an app starts from.
type Snapshot struct {
	Org           protocol.Org
	Conversations []protocol.Conversation
	// Offered says whether the pool is offered to the principal (a
	// counselor's presence and load; rules.Offered).
	Offered bool
	// HighWater is the highest message ID ever assigned when the snapshot
	// was taken: every message at or below it is committed.
	HighWater int64
}

// SweepResult summarises one retention sweep.
type SweepResult struct {
	Messages      int // deleted messages
	Conversations int // conversations they belonged to
	Sessions      int // expired sessions removed
	AuditEntries  int // audit entries past the audit retention
	// Nomination: switches turned off for lack of use, and nominated
	// conversations returned to the pool for not being taken in time.
	NominationsLapsed   int
	NominationsReturned int
	// Unanswered: conversations that left the pool as 対応できず, their
	// clients sent the apology.
	Unanswered int
	// Attachments: files removed from disk (their message or client
	// deleted, expired, or never sent).
	Attachments int
	// Announcements past their expiry (issue 16).
	Announcements int
	// AutoDeleted: clients deleted delete_after_access_days after their
	// access ended (issue 16).
	AutoDeleted int
}

// Store is everything the server keeps: the sum of the parts below, each
// of which a caller can take alone (the push notifier takes its own
// push.Tokens; the command line takes Orgs and Accounts). Implementations
// run store/storetest, the conformance suite.
type Store interface {
	Orgs
	Accounts
	Sessions
	Conversations
	Audit
	PushTokens
	Lifecycle
	Progress
	Templates
	ClientNotes
	Team
	Attachments
	Groups
	Announcements
	APIKeys
}

// Attachments are files carried by messages (images and PDF). Their
// content is streamed to disk sealed under the client's and the retention
// slice's keys, never held whole in memory, and deleted with its message
// (retention sweep, client deletion) or, if never sent, after
// rules.UnsentAttachmentTTL.
type Attachments interface {
	// Upload streams r into a new file of the conversation (a client
	// names its own), if p may write there (rules.MayUpload): its type is
	// decided by its content (protocol.DetectAttachmentType; otherwise
	// CodeUnsupportedMedia) and it may be at most the organisation's
	// limit (protocol.Settings.AttachmentLimit; otherwise CodeTooLarge,
	// decided while streaming). A message then carries it
	// (SendRequest.Attachment).
	Upload(ctx context.Context, p Principal, conversationID int64, r io.Reader) (protocol.Attachment, error)
	// OpenAttachment returns a file p may read (rules.MayFetch) and its
	// content, which the caller closes.
	OpenAttachment(ctx context.Context, p Principal, id int64) (protocol.Attachment, io.ReadCloser, error)
}

// APIKeys are the provisioning API's keys (issue 16): made and revoked by
// admins, stored by hash, scoped to groups; each acts as a registrar of
// its groups (Principal.KeyID), recorded in the audit log under its name.
type APIKeys interface {
	// CreateAPIKey records a key by the hash of its secret (admins).
	CreateAPIKey(ctx context.Context, p Principal, req protocol.APIKeyRequest, tokenHash []byte) (protocol.APIKey, error)
	// APIKeys lists the organisation's keys, revoked ones too (admins).
	APIKeys(ctx context.Context, p Principal) ([]protocol.APIKey, error)
	// RevokeAPIKey ends a key at once (admins).
	RevokeAPIKey(ctx context.Context, p Principal, id int64) error
	// APIKeyByToken finds a live key by its hash and the principal it acts as.
	APIKeyByToken(ctx context.Context, tokenHash []byte) (Principal, protocol.APIKey, error)
	// Idempotent returns a key's record of an Idempotency-Key, or nil.
	Idempotent(ctx context.Context, keyID int64, key string) (*Idempotency, error)
}

// Announcements are admins' notices to clients (お知らせ, issue 16),
// kept apart from conversations: no sequence number, no focus rule, and
// deleted by the sweep once expired (protocol.Announcement.ExpiresAt).
type Announcements interface {
	// CreateAnnouncement stores an admin's announcement
	// (rules.NewAnnouncement), records it in the audit log and, if it
	// shows now, publishes ChangeNews for the clients it is for.
	CreateAnnouncement(ctx context.Context, p Principal, req protocol.AnnouncementRequest) (protocol.Announcement, error)
	// Announcements lists, for admins, every announcement of the
	// organisation not yet expired, newest first; for a client, those
	// shown to it now (rules.Shown), without their groups.
	Announcements(ctx context.Context, p Principal) ([]protocol.Announcement, error)
	// DeleteAnnouncement removes one at once (admins), recorded in the
	// audit log.
	DeleteAnnouncement(ctx context.Context, p Principal, id int64) error
}

// DefaultGroupName names each organisation's default client group (issue
// 16): the one that holds clients registered without naming a group, and
// those registered before groups existed.
const DefaultGroupName = "既定のグループ"

// Groups are the organisation's client groups (issue 16). Every client
// belongs to exactly one; the organisation's default group (made when
// first needed) holds those registered without naming one, and those
// registered before groups existed. A group's access_until ends every
// one of its clients' access at once, as a client's own date does.
type Groups interface {
	// Groups lists the groups the principal may see, with how many clients
	// each has: admins all, a registrar theirs, counselors all (their
	// names are shown beside nicknames).
	Groups(ctx context.Context, p Principal) ([]protocol.Group, error)
	// CreateGroup adds a group (admins; rules.NewGroup), recorded in the
	// audit log.
	CreateGroup(ctx context.Context, p Principal, req protocol.GroupRequest) (protocol.Group, error)
	// UpdateGroup renames a group or sets its access_until (admins;
	// rules.UpdateGroup). An access_until that has passed ends every
	// session of its clients in the same transaction.
	UpdateGroup(ctx context.Context, p Principal, id int64, req protocol.GroupRequest) (protocol.Group, error)
	// Usage returns each group's figures for the last weeks (admins;
	// rules.UsageFigures: small numbers suppressed, no identities).
	Usage(ctx context.Context, p Principal, weeks int) ([]protocol.GroupUsage, error)
}

// Team is how an organisation's staff share its conversations: a
// conversation nobody has waits in the pool (protocol.Conversation.InPool)
// until someone takes it; then only its assignee and the admins read it
// (rules.ReadAccess), and a counselor sees the pool only while it is
// offered to them (rules.Offered: 受付中 and under max_open). Every
// write that changes a staff member's presence or number of
// conversations publishes ChangePresence, and ChangeOffered when the
// pool is offered or withdrawn (with what waits in it). Every
// implementation applies ReadAccess to its
// listings (Conversations, Subscribe), its reads (History, MessagesAfter,
// Receipt) and its writes (Send), keeps staff-only notes
// (protocol.KindNote) from clients' reads, and the conformance suite
// holds it to that.
type Team interface {
	// Claim takes a conversation from the pool for the principal (担当する,
	// rules.Claim). Of several at the same moment exactly one wins; the
	// others get protocol.CodeTaken. Claiming one's own again is no change.
	Claim(ctx context.Context, p Principal, conversationID int64) (protocol.Conversation, error)
	// Preview returns what a staff member may read of a pool conversation
	// before taking it (rules.PreviewOf of the client's messages since the
	// last staff reply) and records the reading in the audit log in the
	// same transaction (protocol.AuditPoolPreview).
	Preview(ctx context.Context, p Principal, conversationID int64) (protocol.Preview, error)
	// Nominees lists the staff members clients of p's organisation may
	// nominate now (rules.Nominable), by display name.
	Nominees(ctx context.Context, p Principal) ([]protocol.Nominee, error)
	// Nominate is a client asking for a staff member (rules.Nominate),
	// decided in the writing transaction: the conversation becomes the
	// nominee's, marked nominated. The sweep returns nominations not taken
	// in time to the pool with a word to the client
	// (protocol.KindNominationReturned) and turns off lapsed switches.
	Nominate(ctx context.Context, p Principal, counselorID int64) (protocol.Conversation, error)
	// UnansweredWeeks counts, for admins, the conversations that ended as
	// 対応できず in each of the last weeks (newest first; the sweep ends
	// them: rules.Unanswered). Organisations see their typical reply time
	// in protocol.Org.TypicalReplySeconds.
	UnansweredWeeks(ctx context.Context, p Principal, weeks int) ([]protocol.UnansweredWeek, error)
	// End ends a conversation (対応終了, rules.End): nobody has it and it
	// is not in the pool until its client writes again.
	End(ctx context.Context, p Principal, conversationID int64) (protocol.Conversation, error)
	// Transfer hands a conversation to a colleague (to), or back into the
	// pool (nil), with a staff-only note stored as a protocol.KindNote
	// message and, where the organisation announces hand-overs, a
	// protocol.KindHandover notice to the client, all in one transaction
	// (rules.Transfer).
	Transfer(ctx context.Context, p Principal, conversationID int64, to *int64, note string) (protocol.Conversation, error)
}

// Orgs are organisations and their settings.
type Orgs interface {
	// CreateOrg creates an organisation (operator only: the command line).
	CreateOrg(ctx context.Context, name string) (protocol.Org, error)
	// Org returns the principal's organisation with its availability now.
	Org(ctx context.Context, orgID int64) (protocol.Org, error)
	// AppLook returns the home-screen name and icon chosen by the
	// organisation whose app code this is (no principal: it is public).
	AppLook(ctx context.Context, appCode string) (protocol.AppLook, error)
	// UpdateSettings changes settings (admins).
	UpdateSettings(ctx context.Context, p Principal, patch protocol.SettingsPatch) (protocol.Org, error)
	// OrgCount reports how many organisations exist.
	OrgCount(ctx context.Context) (int, error)
}

// Accounts are the people who sign in, and their credentials.
type Accounts interface {
	// CreateAccount adds an account. Admins create accounts in their own
	// organisation; the operator (a zero Principal) in any.
	CreateAccount(ctx context.Context, p Principal, a NewAccount) (protocol.Account, error)
	// AccountByLogin finds an account by its normalised login ID.
	AccountByLogin(ctx context.Context, loginID string) (AccountRecord, error)
	// Account returns one account of the principal's organisation (staff).
	Account(ctx context.Context, p Principal, id int64) (protocol.Account, error)
	// Accounts lists the organisation's accounts of one role (staff; notes
	// are included only for staff).
	Accounts(ctx context.Context, p Principal, role protocol.Role) ([]protocol.Account, error)
	// UpdateClient changes a client's nickname, note, access date or group (admins).
	UpdateClient(ctx context.Context, p Principal, id int64, u protocol.UpdateClientRequest) (protocol.Account, error)
	// SetPassword replaces an account's password hash and ends its sessions (admins).
	SetPassword(ctx context.Context, p Principal, id int64, hash string) error
	// UpdateMe changes what a staff member chooses about themselves
	// (rules.UpdateMe): the name clients see above their replies ("" for
	// none) and their presence. (It replaced SetDisplayName.) A changed
	// presence is published as ChangePresence, and ChangeOffered when the
	// pool is offered or withdrawn.
	UpdateMe(ctx context.Context, p Principal, patch protocol.MePatch) (protocol.Account, error)
	// ChangeOwnPassword replaces the principal's own password hash and
	// ends every other session of the account.
	ChangeOwnPassword(ctx context.Context, p Principal, sessionID int64, hash string) error
	// TOTP returns an account's second-factor secret ("" when off) and the
	// last time step used.
	TOTP(ctx context.Context, accountID int64) (secret string, lastStep int64, err error)
	// SetPendingTOTP stores a secret being enrolled (staff, their own).
	SetPendingTOTP(ctx context.Context, p Principal, secret string) error
	// PendingTOTP returns the secret being enrolled ("" if none).
	PendingTOTP(ctx context.Context, accountID int64) (string, error)
	// ActivateTOTP turns the pending secret on, step being the code's.
	ActivateTOTP(ctx context.Context, p Principal, step int64) error
	// DisableTOTP turns a staff member's second factor off (their own, or
	// anyone's in the organisation by an admin).
	DisableTOTP(ctx context.Context, p Principal, accountID int64) error
	// UseTOTPStep records a used step; a replayed one is refused.
	UseTOTPStep(ctx context.Context, accountID, step int64) error
	// DeleteAccount removes an account; for a client, its conversation and
	// every message go with it and its sessions end (admins). An admin
	// cannot delete their own account, nor the organisation's last admin:
	// both are decided in the deleting transaction.
	DeleteAccount(ctx context.Context, p Principal, id int64) error
}

// Sessions are signed-in devices and their deletion receipts.
type Sessions interface {
	// CreateSession records a signed-in device by the hash of its token.
	CreateSession(ctx context.Context, n NewSession) (Session, error)
	// SessionByToken finds a live session and its account.
	SessionByToken(ctx context.Context, tokenHash []byte) (Session, AccountRecord, error)
	// TouchSession records that a person used the session now (staff and
	// shared-device sessions end after a time without use).
	TouchSession(ctx context.Context, sessionID int64) error
	// RevokeSession ends one session.
	RevokeSession(ctx context.Context, sessionID int64, reason string) error
	// RevokeAccountSessions ends every session of an account in the
	// principal's organisation (admins, or the account itself).
	RevokeAccountSessions(ctx context.Context, p Principal, accountID int64, reason string) error

	// RecordWiped notes a live session's deletion receipt (deletions up to at applied).
	RecordWiped(ctx context.Context, sessionID int64, at time.Time) error
	// RecordWipedEnded notes that an ended session's device wiped itself.
	RecordWipedEnded(ctx context.Context, tokenHash []byte) error
	// Devices lists an account's devices and their receipts (admins).
	Devices(ctx context.Context, p Principal, accountID int64) ([]protocol.Device, error)
}

// Audit is the organisation's append-only record of admin actions.
type Audit interface {
	// AuditLog pages backwards through the organisation's audit log (admins).
	AuditLog(ctx context.Context, p Principal, before int64, limit int) (protocol.AuditPage, error)
	// Supervise records an admin's read-only look into a conversation and
	// returns the page of history asked for, as History does.
	Supervise(ctx context.Context, p Principal, conversationID, before int64, limit int) (protocol.MessagePage, error)
}

// Conversations are the conversations and their messages.
type Conversations interface {
	// Conversations lists what the principal may see.
	Conversations(ctx context.Context, p Principal) ([]protocol.Conversation, error)
	// Conversation returns one conversation the principal may see.
	Conversation(ctx context.Context, p Principal, id int64) (protocol.Conversation, error)
	// History pages backwards through a conversation: messages with seq
	// below before (0 for the newest), oldest first.
	History(ctx context.Context, p Principal, conversationID, before int64, limit int) (protocol.MessagePage, error)
	// MessagesAfter returns messages visible to p with ID above cursor, in
	// ID order: the replay for a resuming app.
	MessagesAfter(ctx context.Context, p Principal, cursor int64, limit int) ([]protocol.Message, error)
	// Send stores a message and acknowledges it once durable. A repeated
	// Ref from the same sender returns the original message and created=false.
	Send(ctx context.Context, p Principal, r SendRequest) (m protocol.Message, created bool, err error)
	// Receipt records what the principal's side has received and read.
	Receipt(ctx context.Context, p Principal, conversationID, delivered, read int64) error
	// Assign sets a conversation's assignee (staff), nil to release it.
	Assign(ctx context.Context, p Principal, conversationID int64, assignee *int64) (protocol.Conversation, error)
}

// PushTokens are the devices to tell of replies.
type PushTokens interface {
	// SetPushToken records a device token for the principal's session (a
	// device that moves to another session is moved with it). The token is
	// forgotten with the session.
	SetPushToken(ctx context.Context, p Principal, sessionID int64, token string) error
	// DeletePushToken forgets the principal's device token (push turned off).
	DeletePushToken(ctx context.Context, p Principal, token string) error
	// PushTokens lists an account's device tokens.
	PushTokens(ctx context.Context, accountID int64) ([]string, error)
	// DropPushToken forgets a token the push service no longer knows.
	DropPushToken(ctx context.Context, token string) error
}

// LoginFailures are failed sign-ins kept where every server on one
// database sees them, so that the sign-in limits hold whichever replica is
// asked. A store that serves one server alone (SQLite) has none: that
// server's memory is enough.
type LoginFailures interface {
	// RecordLoginFailure notes a failed guess at login ID id's secret from
	// address addr.
	RecordLoginFailure(ctx context.Context, id, addr string, at time.Time) error
	// LoginFailures returns the times of the failed guesses at id since
	// since, oldest first: those from addr, and those from every address.
	LoginFailures(ctx context.Context, id, addr string, since time.Time) (fromAddr, all []time.Time, err error)
}

// Typing is someone writing in a conversation: a hint relayed live to the
// conversation's other side, never stored.
type Typing struct {
	OrgID          int64
	ClientID       int64
	ConversationID int64 // who reads it follows the conversation's assignee
	From           protocol.Role
	Frame          protocol.TypingFrame
}

// TypingRelay carries typing hints to the other servers on one database
// (their connections may be the other side). A hint lost on the way costs
// nothing: the next one follows within seconds.
type TypingRelay interface {
	RelayTyping(ctx context.Context, t Typing) error
}

// Presence says which clients have a live connection on any of the
// servers sharing one database, so that a reply is pushed to a client's
// phone only when no server holds a connection of theirs.
type Presence interface {
	// SetOnline records whether this server holds a live connection of
	// the account.
	SetOnline(ctx context.Context, accountID int64, online bool) error
	// Online reports whether any running server holds one.
	Online(ctx context.Context, accountID int64) (bool, error)
}

// Lifecycle is subscription, retention and the database's own life.
type Lifecycle interface {
	// Subscribe runs register, then returns what the principal can see
	// (the snapshot). Every change committed after register returns
	// reaches whatever register installed; the snapshot holds at least
	// everything committed before register ran. Changes committed in
	// between may be in both: a subscriber skips published messages at or
	// below Snapshot.HighWater (they are in the replay) and applies the
	// other changes, states, as they come. So an app that loads the
	// snapshot, replays up to HighWater and then applies what was
	// published misses nothing and stores no message twice.
	Subscribe(ctx context.Context, p Principal, register func()) (Snapshot, error)

	// Sweep deletes every message whose expiry has passed and expired
	// sessions, then scrubs the deleted bytes from the files.
	Sweep(ctx context.Context) (SweepResult, error)
	// Ping checks the database answers.
	Ping(ctx context.Context) error
	// Close finishes queued writes and closes the database.
	Close() error
}
