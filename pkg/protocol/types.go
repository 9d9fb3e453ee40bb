// Package protocol defines Taiwa's wire format: the JSON bodies of the HTTP
// API and the frames of the live WebSocket connection. The server, the Go
// client, the desktop app and the load tool all use these types; the PWA
// follows docs/protocol.md, which describes the same thing.
package protocol

import (
	"slices"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/hours"
)

// Version is the newest live protocol version this code speaks, and
// MinVersion the oldest the server still serves. Version 2 spends fewer
// frames on a message: the sending connection is not sent its own
// message back (its ack carries it), and a message that changed its
// conversation carries the conversation's new state (MessageFrame) instead
// of a conversation frame after it. A hello names the version the app
// speaks; the welcome says the one the connection uses.
const (
	Version    = 2
	MinVersion = 1
)

// Limits enforced on every frame and request body.
const (
	MaxFrameBytes   = 64 << 10 // one WebSocket message
	MaxBodyRunes    = 10000    // one chat message, in characters
	MaxRefBytes     = 64       // an idempotency id
	MaxNicknameRune = 40
	MaxNoteRunes    = 2000
	MaxRequestBytes = 256 << 10 // one HTTP request body
	MaxBulkClients  = 500
)

// Role is what an account may do.
type Role string

// Roles. System is the sender of automatic notices, never an account.
const (
	RoleAdmin     Role = "admin"
	RoleCounselor Role = "counselor"
	RoleClient    Role = "client"
	RoleSystem    Role = "system"
	// RoleRegistrar registers clients of chosen groups (issue 16): it
	// lists, registers, resets and deletes them with their login IDs, and
	// reads no conversation, audit or note. It is not staff: staff are
	// those who counsel.
	RoleRegistrar Role = "registrar"
)

// IsStaff reports whether r is one of the organisation's people who
// counsel or supervise (a registrar is not).
func (r Role) IsStaff() bool { return r == RoleAdmin || r == RoleCounselor }

// ManagesClients reports whether r registers and deletes clients: admins
// (any group) and registrars (their groups).
func (r Role) ManagesClients() bool { return r == RoleAdmin || r == RoleRegistrar }

// Status is where a conversation stands, derived from who spoke last.
type Status string

// Conversation statuses.
const (
	StatusNew      Status = "new"      // the client has not written yet
	StatusWaiting  Status = "waiting"  // the client spoke last: unanswered
	StatusAnswered Status = "answered" // staff spoke last
)

// MessageKind distinguishes text written by a person from automatic notices.
type MessageKind string

// Message kinds.
const (
	KindText MessageKind = "text"
	// KindClosedNotice is added by the server when a client writes while the
	// organisation is closed or paused; apps render it in their own language
	// from ReopensAt.
	KindClosedNotice MessageKind = "closed_notice"
	// KindNote is a staff-only note inside a conversation (for a
	// hand-over, for coaching): never sent to the client.
	KindNote MessageKind = "note"
	// KindHandover tells the client, where the organisation wants it, that
	// another staff member now answers ("担当者が変わりました"); apps word it.
	KindHandover MessageKind = "handover"
	// KindNominationReturned tells the client, in neutral words the apps
	// choose, that the staff member they nominated could not take the
	// conversation in time and that another will answer.
	KindNominationReturned MessageKind = "nomination_returned"
	// KindApology is sent to a client whose conversation found nobody in
	// time (対応できず): Body is the organisation's apology text with its
	// alternatives, or empty for the apps' own plain apology.
	KindApology MessageKind = "apology"
)

// StaffOnly reports whether messages of this kind are for staff eyes only.
func (k MessageKind) StaffOnly() bool { return k == KindNote }

// ClosedBehavior is what happens to a client's message while closed.
type ClosedBehavior string

// Closed-hours behaviours.
const (
	ClosedAccept ClosedBehavior = "accept" // store it and add a notice
	ClosedBlock  ClosedBehavior = "block"  // refuse it with the reopening time
)

// Account is a person who can sign in.
type Account struct {
	ID       int64  `json:"id"`
	OrgID    int64  `json:"org_id"`
	Role     Role   `json:"role"`
	LoginID  string `json:"login_id"`
	Nickname string `json:"nickname"`
	// DisplayName is what clients see above a staff member's replies, set
	// by that staff member (never their real name unless they choose it).
	DisplayName string     `json:"display_name,omitempty"`
	Note        string     `json:"note,omitempty"`         // clients only; staff eyes only
	AccessUntil *time.Time `json:"access_until,omitempty"` // clients only
	CreatedAt   time.Time  `json:"created_at"`
	// Presence is whether a staff member takes conversations now (set by
	// themselves); absent for clients.
	Presence Presence `json:"presence,omitempty"`
	// OpenConversations is how many conversations a staff member has, and
	// Online whether an app of theirs is connected: in the staff list only.
	OpenConversations int  `json:"open_conversations,omitempty"`
	Online            bool `json:"online,omitempty"`
	// Intro is a staff member's short introduction, shown with their
	// display name to clients choosing whom to nominate (no personal
	// data; MaxIntroRunes).
	Intro string `json:"intro,omitempty"`
	// AcceptNominations is the switch 指名を受け付ける. It turns itself
	// off after the organisation's nomination_lapse_days without the
	// staff member using Taiwa; NominationLapsedAt then says when, until
	// they turn it on again (their app tells them why).
	AcceptNominations  bool       `json:"accept_nominations,omitempty"`
	NominationLapsedAt *time.Time `json:"nomination_lapsed_at,omitempty"`
	// Issue 16. GroupID and GroupName: a client's group (every client has
	// one); GroupAccessUntil: the group's end of access, if it has one
	// (the client's access ends at the earlier of it and AccessUntil).
	// GroupIDs: the groups a registrar registers clients of.
	GroupID          int64      `json:"group_id,omitempty"`
	GroupName        string     `json:"group_name,omitempty"`
	GroupAccessUntil *time.Time `json:"group_access_until,omitempty"`
	GroupIDs         []int64    `json:"group_ids,omitempty"`
	// DeleteAt is when a client whose access ends is deleted
	// automatically (the organisation's delete_after_access_days): in
	// admins' and registrars' lists only.
	DeleteAt *time.Time `json:"delete_at,omitempty"`
}

// AccessEnds is when a client's access ends: the earlier of its own date
// and its group's (nil: never).
func (a Account) AccessEnds() *time.Time {
	switch {
	case a.AccessUntil == nil:
		return a.GroupAccessUntil
	case a.GroupAccessUntil == nil || a.AccessUntil.Before(*a.GroupAccessUntil):
		return a.AccessUntil
	}
	return a.GroupAccessUntil
}

// Group is a client group (issue 16): one per client company, contract
// or seminar. Every client belongs to exactly one; the organisation's
// first, its default, holds the clients registered before groups existed.
type Group struct {
	ID    int64  `json:"id"`
	OrgID int64  `json:"org_id"`
	Name  string `json:"name"`
	// AccessUntil ends the access of every client of the group at once.
	AccessUntil *time.Time `json:"access_until,omitempty"`
	Default     bool       `json:"default,omitempty"`
	Clients     int        `json:"clients"`
	CreatedAt   time.Time  `json:"created_at"`
}

// MaxGroupNameRunes bounds a group's name.
const MaxGroupNameRunes = 60

// GroupRequest creates a group or changes one (admins). On a change, nil
// fields stay as they are; ClearAccessUntil removes the date.
type GroupRequest struct {
	Name             *string    `json:"name,omitempty"`
	AccessUntil      *time.Time `json:"access_until,omitempty"`
	ClearAccessUntil bool       `json:"clear_access_until,omitempty"`
}

// MaxIntroRunes bounds a staff member's introduction.
const MaxIntroRunes = 200

// Nominee is a staff member whom clients may nominate (指名): their
// display name and introduction, nothing else.
type Nominee struct {
	ID          int64  `json:"id"`
	DisplayName string `json:"display_name"`
	Intro       string `json:"intro,omitempty"`
}

// NominateRequest is a client asking for one staff member (指名).
type NominateRequest struct {
	CounselorID int64 `json:"counselor_id"`
}

// Presence is whether a staff member takes conversations now.
type Presence string

// Presences. Only those available are offered the pool (and not at the
// organisation's max_open).
const (
	PresenceAvailable Presence = "available" // 受付中
	PresenceAway      Presence = "away"      // 離席
	PresenceStopped   Presence = "stopped"   // 受付停止
)

// Settings are an organisation's rules, changed by its admins.
type Settings struct {
	DisplayName        string         `json:"display_name"`
	RetentionSeconds   int64          `json:"retention_seconds"`
	Hours              hours.Schedule `json:"hours"`
	Pause              hours.Pause    `json:"pause"`
	ClosedBehavior     ClosedBehavior `json:"closed_behavior"`
	StaffMayWriteFirst bool           `json:"staff_may_write_first"`
	// AppName and AppIcon, when set, are what the client app is called and
	// shows on a phone's home screen instead of the organisation's name:
	// for clients whose phone others may see. AppIcon is one of AppIcons.
	AppName string `json:"app_name,omitempty"`
	AppIcon string `json:"app_icon,omitempty"`
	// AuditRetentionDays is how long the audit log keeps an entry; zero
	// means DefaultAuditRetentionDays.
	AuditRetentionDays int `json:"audit_retention_days,omitempty"`
	// CounselorHoursOnly limits counselors' access to client data
	// (conversations, nicknames, notes) to the business hours widened by
	// CounselorMarginMinutes on both sides. Admins are exempt.
	CounselorHoursOnly     bool `json:"counselor_hours_only,omitempty"`
	CounselorMarginMinutes int  `json:"counselor_margin_minutes,omitempty"`
	// WelcomeText greets clients on the app's first screen; ContactText
	// tells them whom to ask about a lost slip or a locked login (shown
	// on the sign-in page of the organisation's own address, so it must
	// not name the organisation unless it wants to be named there).
	WelcomeText string `json:"welcome_text,omitempty"`
	ContactText string `json:"contact_text,omitempty"`
	// ShowOrgName lets clients' apps show DisplayName. Off by default: a
	// phone others may see shows only the neutral app name, and clients
	// are not even sent the organisation's name.
	ShowOrgName bool `json:"show_org_name,omitempty"`
	// ClaimByButton: only 担当する (claim) takes a conversation from the
	// pool. Off (the default), a staff member's first reply also takes it.
	ClaimByButton bool `json:"claim_by_button,omitempty"`
	// AnnounceHandover tells the client, with a handover message, when a
	// conversation is handed to another staff member; off, the client
	// sees nothing but continuity.
	AnnounceHandover bool `json:"announce_handover,omitempty"`
	// MaxOpen is how many conversations a counselor may have at once
	// before the pool stops being offered to them (0: no limit).
	MaxOpen int `json:"max_open,omitempty"`
	// NominationLapseDays: a staff member's 指名を受け付ける switch turns
	// itself off after this many days without their using Taiwa (0: the
	// default, DefaultNominationLapseDays).
	NominationLapseDays int `json:"nomination_lapse_days,omitempty"`
	// NominationTimeoutHours: a nominated conversation its counselor has
	// not taken (担当する or a reply) within this time returns to the pool,
	// and the client is told (0: DefaultNominationTimeoutHours).
	NominationTimeoutHours int `json:"nomination_timeout_hours,omitempty"`
	// UnansweredTimeoutHours: a conversation that waited in the pool this
	// long without anyone taking it leaves the pool as 対応できず
	// (OutcomeUnanswered) and its client receives the organisation's
	// ApologyText (0: DefaultUnansweredTimeoutHours, three days).
	UnansweredTimeoutHours int `json:"unanswered_timeout_hours,omitempty"`
	// ApologyText is the organisation's apology with alternatives (a phone
	// line, in-person hours, a public board), sent as it is; empty, the
	// apps word a plain apology.
	ApologyText string `json:"apology_text,omitempty"`
	// CrisisPhrases are the organisation's own crisis phrases, matched
	// with the default set (risk first); staff only, never sent to
	// clients.
	CrisisPhrases []string `json:"crisis_phrases,omitempty"`
	// AttachmentMaxBytes is the largest attachment the organisation takes
	// (0: DefaultAttachmentBytes; at most MaxAttachmentBytes).
	AttachmentMaxBytes int64 `json:"attachment_max_bytes,omitempty"`
	// DeleteAfterAccessDays: a client whose access has ended (their own
	// date or their group's) is deleted this many days later, with the
	// same erasure and receipts as a manual deletion (0: never; issue 16).
	DeleteAfterAccessDays int `json:"delete_after_access_days,omitempty"`
}

// Clone returns a copy of s that shares nothing with it: its slices and
// the pause's end are copied (TestSettingsCloneSharesNothing fails if a
// field added later is not).
func (s Settings) Clone() Settings {
	s.Hours.Spans = slices.Clone(s.Hours.Spans)
	if s.Pause.Until != nil {
		until := *s.Pause.Until
		s.Pause.Until = &until
	}
	s.CrisisPhrases = slices.Clone(s.CrisisPhrases)
	return s
}

// AttachmentLimit is the largest attachment s allows.
func (s Settings) AttachmentLimit() int64 {
	if s.AttachmentMaxBytes <= 0 {
		return DefaultAttachmentBytes
	}
	return min(s.AttachmentMaxBytes, MaxAttachmentBytes)
}

// No client left without an answer: defaults and bounds.
const (
	DefaultUnansweredTimeoutHours = 72
	MaxUnansweredTimeoutHours     = 24 * 30
)

// Nomination defaults and bounds.
const (
	DefaultNominationLapseDays    = 3
	DefaultNominationTimeoutHours = 24
	MaxNominationLapseDays        = 90
	MaxNominationTimeoutHours     = 24 * 14
)

// MaxMaxOpen bounds Settings.MaxOpen.
const MaxMaxOpen = 1000

// MaxApologyRunes bounds the apology text (it lists alternatives).
const MaxApologyRunes = 1000

// MaxClientTextRunes bounds the welcome and contact texts.
const MaxClientTextRunes = 500

// ForClient is the organisation as a client's app is told of it: its
// name only when the organisation chose to be named on clients' phones.
func (o Org) ForClient() Org {
	if !o.Settings.ShowOrgName {
		o.Settings.DisplayName = ""
	}
	o.Settings.CrisisPhrases = nil // staff only
	return o
}

// MaxCounselorMarginMinutes bounds the access-hours margin.
const MaxCounselorMarginMinutes = 240

// CounselorWindow reports whether counselors may see client data at now,
// and if not, from when they may.
func (s Settings) CounselorWindow(now time.Time) (open bool, opens time.Time) {
	if !s.CounselorHoursOnly {
		return true, time.Time{}
	}
	margin := time.Duration(s.CounselorMarginMinutes) * time.Minute
	if hours.Window(s.Hours, margin, now) {
		return true, time.Time{}
	}
	return false, hours.NextOpen(s.Hours, now).Add(-margin)
}

// AppIcons are the icons an organisation may give its app: the default,
// then neutral ones that look like an everyday app.
var AppIcons = []string{"", "notes", "calendar", "weather"}

// MaxAppNameRunes bounds an app name (home screens show about 12).
const MaxAppNameRunes = 30

// AppLook is how an organisation's app looks on a home screen; it is
// served without sign-in (the manifest is fetched before it).
type AppLook struct {
	Name        string // empty: the product's default
	Icon        string // one of AppIcons
	ContactText string // whom to ask about a lost slip (Settings.ContactText)
}

// SettingsPatch changes some settings; nil fields stay as they are.
type SettingsPatch struct {
	DisplayName            *string         `json:"display_name,omitempty"`
	RetentionSeconds       *int64          `json:"retention_seconds,omitempty"`
	Hours                  *hours.Schedule `json:"hours,omitempty"`
	Pause                  *hours.Pause    `json:"pause,omitempty"`
	ClosedBehavior         *ClosedBehavior `json:"closed_behavior,omitempty"`
	StaffMayWriteFirst     *bool           `json:"staff_may_write_first,omitempty"`
	AppName                *string         `json:"app_name,omitempty"`
	AppIcon                *string         `json:"app_icon,omitempty"`
	AuditRetentionDays     *int            `json:"audit_retention_days,omitempty"`
	CounselorHoursOnly     *bool           `json:"counselor_hours_only,omitempty"`
	CounselorMarginMinutes *int            `json:"counselor_margin_minutes,omitempty"`
	WelcomeText            *string         `json:"welcome_text,omitempty"`
	ContactText            *string         `json:"contact_text,omitempty"`
	ShowOrgName            *bool           `json:"show_org_name,omitempty"`
	ClaimByButton          *bool           `json:"claim_by_button,omitempty"`
	AnnounceHandover       *bool           `json:"announce_handover,omitempty"`
	MaxOpen                *int            `json:"max_open,omitempty"`
	NominationLapseDays    *int            `json:"nomination_lapse_days,omitempty"`
	NominationTimeoutHours *int            `json:"nomination_timeout_hours,omitempty"`
	UnansweredTimeoutHours *int            `json:"unanswered_timeout_hours,omitempty"`
	ApologyText            *string         `json:"apology_text,omitempty"`
	CrisisPhrases          *[]string       `json:"crisis_phrases,omitempty"`
	AttachmentMaxBytes     *int64          `json:"attachment_max_bytes,omitempty"`
	DeleteAfterAccessDays  *int            `json:"delete_after_access_days,omitempty"`
}

// Org is an organisation as its members see it.
type Org struct {
	ID           int64              `json:"id"`
	Settings     Settings           `json:"settings"`
	Availability hours.Availability `json:"availability"`
	// AppPath is the organisation's own address of the client app on this
	// server ("/a/<code>/"): the one to hand to its clients.
	AppPath string `json:"app_path"`
	// TypicalReplySeconds is the median time staff took to answer a
	// waiting client over the last 30 days (0: too few answers to say),
	// for the client app's "replies usually come within…": a figure, not
	// a promise. In the welcome and GET /org; absent from settings frames.
	TypicalReplySeconds int64 `json:"typical_reply_seconds,omitempty"`
}

// UnansweredWeek is how many conversations of an organisation ended as
// 対応できず in one week (from Monday 00:00 in its time zone).
type UnansweredWeek struct {
	Week  string `json:"week"` // 2026-11-23
	Count int    `json:"count"`
}

// Device is one signed-in (or recently signed-out) app of an account, as
// an admin sees it: when its last deletion receipt arrived.
type Device struct {
	SessionID  int64      `json:"session_id"`
	Device     string     `json:"device"` // what the app called itself: "desktop", "phone"…
	SignedInAt time.Time  `json:"signed_in_at"`
	Active     bool       `json:"active"`
	EndedAt    *time.Time `json:"ended_at,omitempty"`
	EndReason  string     `json:"end_reason,omitempty"` // logout, forced, deleted, expired, password_reset
	// WipedAt is when the device last confirmed applying deletions: for an
	// active one, the time of the newest deletion it applied; for an ended
	// one, when it confirmed wiping everything.
	WipedAt *time.Time `json:"wiped_at,omitempty"`
}

// Conversation is the one conversation between a client and the organisation.
type Conversation struct {
	ID       int64  `json:"id"`
	ClientID int64  `json:"client_id"`
	Nickname string `json:"nickname,omitempty"` // shown to staff only
	// GroupName is the client's group, shown to staff beside the nickname
	// (issue 16): never the login ID or anything that identifies them.
	GroupName  string `json:"group_name,omitempty"`
	AssigneeID *int64 `json:"assignee_id,omitempty"`
	Status     Status `json:"status"`
	// LastSeq is the newest message's sequence number; FirstSeq the oldest
	// still kept (LastSeq+1 when none is). Everything below FirstSeq has
	// been deleted: an app that resumes drops what it still holds there.
	LastSeq  int64 `json:"last_seq"`
	FirstSeq int64 `json:"first_seq"`
	// Receipts: the highest sequence number each side has received and read.
	ClientDeliveredSeq int64      `json:"client_delivered_seq"`
	ClientReadSeq      int64      `json:"client_read_seq"`
	StaffDeliveredSeq  int64      `json:"staff_delivered_seq"`
	StaffReadSeq       int64      `json:"staff_read_seq"`
	WaitingSince       *time.Time `json:"waiting_since,omitempty"` // when the unanswered client message arrived
	// PoolSince is when the conversation entered the organisation's pool
	// (未対応: the client wrote and nobody has it); absent once someone
	// takes it.
	PoolSince *time.Time `json:"pool_since,omitempty"`
	// Outcome is how the last stretch of the conversation ended while
	// nobody has it: OutcomeEnded (its counselor ended it). It is cleared
	// when the client writes again (into the pool).
	Outcome string `json:"outcome,omitempty"`
	// NominatedAt is when the client nominated its assignee (指名), until
	// the assignee takes it (担当する or a reply); a nomination not taken
	// in the organisation's nomination_timeout_hours returns it to the
	// pool.
	NominatedAt *time.Time `json:"nominated_at,omitempty"`
	// RiskAt is when a client message matched a crisis phrase (risk
	// first): the conversation goes to the top of the pool and of its
	// counselor's list. Staff only: ForClient removes it.
	RiskAt    *time.Time `json:"risk_at,omitempty"`
	UpdatedAt time.Time  `json:"updated_at"`
	// Progress is where staff say the conversation stands (staff only;
	// see ForClient), who set it last (absent: changed by itself, as when
	// the client answers a 返答待ち) and when; NextContact is the date
	// promised to the client (DateLayout, the organisation's time zone),
	// set only with ProgressNextContact.
	Progress    Progress   `json:"progress,omitempty"`
	ProgressBy  *int64     `json:"progress_by,omitempty"`
	ProgressAt  *time.Time `json:"progress_at,omitempty"`
	NextContact string     `json:"next_contact,omitempty"`
	// Decisions are the client's messages staff confirmed as decided
	// (決定), oldest first (staff only).
	Decisions []Decision `json:"decisions,omitempty"`
	// Note is staff's note about the client (no personal data), who last
	// changed it and when (staff only).
	Note   string     `json:"note,omitempty"`
	NoteBy *int64     `json:"note_by,omitempty"`
	NoteAt *time.Time `json:"note_at,omitempty"`
}

// Decision is a client's message confirmed as decided by a staff reply
// that quotes its number ("#12 の内容で決定しました").
type Decision struct {
	Seq      int64     `json:"seq"`       // the client's message decided on
	ReplySeq int64     `json:"reply_seq"` // the reply that confirmed it
	By       int64     `json:"by"`        // the staff member who replied
	At       time.Time `json:"at"`
}

// Outcomes of a conversation nobody has and that is not in the pool.
const (
	OutcomeEnded = "ended" // 対応終了: its counselor (or an admin) ended it
	// OutcomeUnanswered (対応できず): nobody took it from the pool in the
	// organisation's unanswered_timeout_hours; the client was sent the
	// apology.
	OutcomeUnanswered = "unanswered"
)

// InPool reports whether the conversation waits in the organisation's
// pool: the client has written and no staff member has it.
func (c Conversation) InPool() bool { return c.AssigneeID == nil && c.PoolSince != nil }

// Message is one entry of a conversation.
type Message struct {
	// ID is global and increases in commit order: it is the resume cursor.
	ID             int64 `json:"id"`
	ConversationID int64 `json:"conversation_id"`
	Seq            int64 `json:"seq"` // 1, 2, 3… within the conversation
	SenderID       int64 `json:"sender_id,omitempty"`
	SenderRole     Role  `json:"sender_role"`
	// SenderName is a staff sender's display name (Account.DisplayName) as
	// it is now; empty when they chose none or left.
	SenderName string      `json:"sender_name,omitempty"`
	Kind       MessageKind `json:"kind"`
	Body       string      `json:"body,omitempty"`
	ReopensAt  *time.Time  `json:"reopens_at,omitempty"` // closed notices
	// State is a closed notice's reason: hours.StateClosed or StatePaused.
	State     hours.State `json:"state,omitempty"`
	CreatedAt time.Time   `json:"created_at"`
	ExpiresAt time.Time   `json:"expires_at"`
	// Attachment is the file the message carries, if any (the body is
	// then an optional caption).
	Attachment *Attachment `json:"attachment,omitempty"`
}
