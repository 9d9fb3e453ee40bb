package protocol

import "time"

// The provisioning API (issue 16): a booking or payment system creates,
// extends and deletes clients with an API key of the organisation's,
// scoped to groups. Keys are made and revoked by admins, shown once and
// stored hashed.

// APIKeyPrefix starts every API key, so that one is told apart from a
// session token (and found by secret scanners).
const APIKeyPrefix = "tk_"

// HeaderIdempotencyKey names the header every creating request carries:
// a retry with the same key returns the first answer, never a second
// client.
const HeaderIdempotencyKey = "Idempotency-Key"

// MaxIdempotencyKeyBytes bounds an Idempotency-Key.
const MaxIdempotencyKeyBytes = 100

// MaxAPIKeyNameRunes bounds an API key's name.
const MaxAPIKeyNameRunes = 60

// APIKey is an API key as admins see it: never the key itself.
type APIKey struct {
	ID        int64      `json:"id"`
	Name      string     `json:"name"`
	GroupIDs  []int64    `json:"group_ids"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// APIKeyRequest makes an API key (admins): a name saying which system
// uses it, and the groups whose clients it may create and delete.
type APIKeyRequest struct {
	Name     string  `json:"name"`
	GroupIDs []int64 `json:"group_ids"`
}

// NewAPIKey is a key just made: Key is shown this once.
type NewAPIKey struct {
	APIKey APIKey `json:"api_key"`
	Key    string `json:"key"`
}

// ProvisionClientRequest creates a client through the provisioning API.
type ProvisionClientRequest struct {
	Nickname    string     `json:"nickname"`
	GroupID     int64      `json:"group_id"`
	AccessUntil *time.Time `json:"access_until,omitempty"`
}

// ProvisionedClient is what creating a client answers, the same for
// every retry with the same Idempotency-Key: the login ID, the one-time
// password and where the client opens the app.
type ProvisionedClient struct {
	ID       int64  `json:"id"`
	LoginID  string `json:"login_id"`
	Password string `json:"password"`
	AppURL   string `json:"app_url"`
	GroupID  int64  `json:"group_id"`
}

// ProvisionUpdateRequest sets or clears a provisioned client's end of
// access.
type ProvisionUpdateRequest struct {
	AccessUntil      *time.Time `json:"access_until,omitempty"`
	ClearAccessUntil bool       `json:"clear_access_until,omitempty"`
}

// ProvisionedAccess answers a change of the end of access: the client's
// own date and when their access ends (the earlier of it and their
// group's).
type ProvisionedAccess struct {
	ID          int64      `json:"id"`
	AccessUntil *time.Time `json:"access_until,omitempty"`
	AccessEnds  *time.Time `json:"access_ends,omitempty"`
}

// Automatic deletion after access ends (days; 0: never).
const MaxDeleteAfterAccessDays = 3650
