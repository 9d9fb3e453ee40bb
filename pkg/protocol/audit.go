package protocol

import "time"

// AuditAction names what an audit entry records.
type AuditAction string

// The recorded actions: every change an admin or the operator makes to
// accounts, sessions and settings, and every supervisor's reading.
const (
	AuditOrgCreated      AuditAction = "org_created"      // operator
	AuditAccountCreated  AuditAction = "account_created"  // detail: the role
	AuditAccountDeleted  AuditAction = "account_deleted"  // detail: the role
	AuditClientUpdated   AuditAction = "client_updated"   // detail: which fields, never their values
	AuditPasswordReset   AuditAction = "password_reset"   //
	AuditPasswordChanged AuditAction = "password_changed" // by the staff member themselves
	AuditTOTPChanged     AuditAction = "totp_changed"     // detail: on, off or reset
	AuditForcedLogout    AuditAction = "forced_logout"    //
	AuditSettingsChanged AuditAction = "settings_changed" // detail: which settings
	AuditSupervisorView  AuditAction = "supervisor_view"  // an admin read a conversation read-only
	AuditPoolPreview     AuditAction = "pool_preview"     // a staff member read a pool conversation's preview
	AuditRiskRaised      AuditAction = "risk_raised"      // a client message matched a crisis phrase (never the text)
	// Issue 16: client groups (detail: the group's ID and which fields,
	// never a name).
	AuditGroupCreated AuditAction = "group_created"
	AuditGroupUpdated AuditAction = "group_updated"
	// Announcements (detail: the announcement's ID and how many groups,
	// never the text).
	AuditAnnouncementSent    AuditAction = "announcement_sent"
	AuditAnnouncementDeleted AuditAction = "announcement_deleted"
	// API keys (detail: the key's ID; never the key). What a key does is
	// recorded with actor_role "api_key" and the key's name.
	AuditAPIKeyCreated AuditAction = "api_key_created"
	AuditAPIKeyRevoked AuditAction = "api_key_revoked"
	// AuditAutoDeleted: a client deleted by the sweep, DeleteAfterAccessDays
	// after their access ended (actor_role "system").
	AuditAutoDeleted AuditAction = "client_auto_deleted"
)

// ActorOperator is the actor role of the server's command line.
const ActorOperator = "operator"

// ActorAPIKey is the actor role of an API key's request (issue 16).
const ActorAPIKey = "api_key"

// Targets of audit entries that are not accounts (issue 16): their
// target_id is the group's, announcement's or key's number.
const (
	TargetGroup        Role = "group"
	TargetAnnouncement Role = "announcement"
	TargetAPIKey       Role = "api_key"
)

// AuditEntry is one line of an organisation's audit log: who did what to
// whom, and when. It never holds message text, notes or passwords;
// clients appear by account ID only, so the log outlives no nickname.
type AuditEntry struct {
	ID         int64       `json:"id"`
	At         time.Time   `json:"at"`
	ActorID    *int64      `json:"actor_id,omitempty"` // nil for the operator
	ActorRole  string      `json:"actor_role"`         // operator | admin | counselor | client (unnamed: risk_raised)
	ActorName  string      `json:"actor_name,omitempty"`
	Action     AuditAction `json:"action"`
	TargetID   *int64      `json:"target_id,omitempty"`
	TargetRole Role        `json:"target_role,omitempty"`
	Detail     string      `json:"detail,omitempty"`
}

// AuditPage is a page of the audit log, newest first.
type AuditPage struct {
	Entries []AuditEntry `json:"entries"`
	// More says older entries exist: ask again with before = the last ID.
	More bool `json:"more"`
}

// Audit retention bounds, in days. Zero in Settings means the default.
const (
	DefaultAuditRetentionDays = 365
	MinAuditRetentionDays     = 30
	MaxAuditRetentionDays     = 3650
)
