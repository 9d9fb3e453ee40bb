package protocol

import "time"

// LoginRequest is the body of POST /api/v1/login.
type LoginRequest struct {
	LoginID  string `json:"login_id"`
	Password string `json:"password"`
	// Cookie asks for the token in an HttpOnly cookie as well (the PWA).
	Cookie bool `json:"cookie,omitempty"`
	// Shared marks a shared device: the cookie lasts only until the
	// browser closes.
	Shared bool `json:"shared,omitempty"`
	// Device is a short label the admin sees in the session list.
	Device string `json:"device,omitempty"`
	// TOTP is the 6-digit code of a staff member's second factor, asked
	// for (totp_required) once the password is right.
	TOTP string `json:"totp,omitempty"`
}

// TOTPStatus says whether the signed-in staff member's second factor is on.
type TOTPStatus struct {
	On bool `json:"on"`
}

// TOTPEnrollment is a new second-factor secret to put into an
// authenticator app (by QR code or by hand); confirm it with a code.
type TOTPEnrollment struct {
	Secret string `json:"secret"`
	URL    string `json:"url"`
	QRPNG  []byte `json:"qr_png"` // base64 in JSON
}

// TOTPRequest starts an enrollment (password), confirms it (code) or turns
// the second factor off (code and password). The password is the current
// one: a session left open must not be enough to change how the account
// signs in.
type TOTPRequest struct {
	Code     string `json:"code,omitempty"`
	Password string `json:"password,omitempty"`
}

// LoginResponse carries the session token, shown only here.
type LoginResponse struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	Account   Account   `json:"account"`
	Org       Org       `json:"org"`
}

// CreateClientRequest registers one client (admins).
type CreateClientRequest struct {
	Nickname    string     `json:"nickname"`
	Note        string     `json:"note,omitempty"`
	AccessUntil *time.Time `json:"access_until,omitempty"`
	// GroupID is the client's group (0: the organisation's default group;
	// a registrar must name one of theirs).
	GroupID int64 `json:"group_id,omitempty"`
}

// BulkCreateClientsRequest registers several clients at once, named by
// Nicknames, or by Prefix and Count ("seminar-001"…).
type BulkCreateClientsRequest struct {
	Nicknames   []string   `json:"nicknames,omitempty"`
	Prefix      string     `json:"prefix,omitempty"`
	Count       int        `json:"count,omitempty"`
	AccessUntil *time.Time `json:"access_until,omitempty"`
	GroupID     int64      `json:"group_id,omitempty"` // as CreateClientRequest's
}

// Credentials are a login ID with its one-time password. The server keeps
// only a hash: this is the only time the password is shown.
type Credentials struct {
	Account  Account `json:"account"`
	LoginID  string  `json:"login_id"`
	Password string  `json:"password"`
}

// UpdateClientRequest changes a client's nickname, note or access date.
// ClearAccessUntil removes the date.
type UpdateClientRequest struct {
	Nickname         *string    `json:"nickname,omitempty"`
	Note             *string    `json:"note,omitempty"`
	AccessUntil      *time.Time `json:"access_until,omitempty"`
	ClearAccessUntil bool       `json:"clear_access_until,omitempty"`
	// GroupID moves the client to another group of the organisation.
	GroupID int64 `json:"group_id,omitempty"`
}

// CreateStaffRequest adds an admin, counselor or registrar (admins). A
// registrar names the groups whose clients they register (GroupIDs, at
// least one).
type CreateStaffRequest struct {
	Nickname string  `json:"nickname"`
	Role     Role    `json:"role"`
	GroupIDs []int64 `json:"group_ids,omitempty"`
}

// AssignRequest sets (or with nil clears) a conversation's assignee.
type AssignRequest struct {
	AssigneeID *int64 `json:"assignee_id"`
}

// TransferRequest hands a conversation to a colleague (To), or back to
// the pool (To null), with a note only staff read.
type TransferRequest struct {
	To   *int64 `json:"to"`
	Note string `json:"note,omitempty"`
}

// Preview is what a staff member may read of a conversation in the pool
// before taking it: its state and the client's first messages since it
// entered the pool (at most PreviewMessages, each cut at PreviewRunes).
// Every preview served is recorded in the audit log.
type Preview struct {
	Conversation Conversation `json:"conversation"`
	Messages     []Message    `json:"messages"`
}

// Preview bounds.
const (
	PreviewMessages = 3
	PreviewRunes    = 280
)

// MessagePage is one page of a conversation's history, newest last.
// NextBefore, when non-zero, is the cursor for the page before this one.
type MessagePage struct {
	Messages   []Message `json:"messages"`
	NextBefore int64     `json:"next_before,omitempty"`
}

// MePatch changes what a staff member chooses about themselves: the name
// clients see above their replies ("" for none; MaxDisplayNameRunes).
type MePatch struct {
	DisplayName *string `json:"display_name,omitempty"`
	// Presence: 受付中, 離席 or 受付停止.
	Presence *Presence `json:"presence,omitempty"`
	// Intro and the switch 指名を受け付ける (which needs a display name).
	Intro             *string `json:"intro,omitempty"`
	AcceptNominations *bool   `json:"accept_nominations,omitempty"`
}

// MaxDisplayNameRunes bounds a staff member's display name.
const MaxDisplayNameRunes = 20

// ChangePasswordRequest is a staff member choosing a new password.
type ChangePasswordRequest struct {
	Current string `json:"current"`
	New     string `json:"new"`
}

// PushTokenRequest registers (PUT) or forgets (DELETE) this device's push
// token: the app's own choice to be told of replies.
type PushTokenRequest struct {
	Token string `json:"token"`
}

// ErrorResponse wraps an Error in HTTP responses.
type ErrorResponse struct {
	Error Error `json:"error"`
}
