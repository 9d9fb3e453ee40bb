// Package client is the Go client of the Taiwa sync server: the HTTP API
// and a live connection that reconnects, resumes from its cursor and
// resends unacknowledged messages with their idempotency ids. The desktop
// app, the tests and the load tool use it.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// Client calls the HTTP API with one session token.
type Client struct {
	BaseURL string // e.g. http://127.0.0.1:8080
	Token   string
	HTTP    *http.Client
}

// New returns a client for baseURL with an existing token (may be empty).
func New(baseURL, token string) *Client {
	return &Client{BaseURL: strings.TrimSuffix(baseURL, "/"), Token: token, HTTP: &http.Client{Timeout: 60 * time.Second}}
}

// Login signs in and returns a client holding the new session token.
func Login(ctx context.Context, baseURL, loginID, password, device string) (*Client, protocol.LoginResponse, error) {
	return LoginTOTP(ctx, baseURL, loginID, password, device, "")
}

// LoginTOTP signs in with a second factor's code as well (after Login
// failed with protocol.CodeTOTPRequired).
func LoginTOTP(ctx context.Context, baseURL, loginID, password, device, code string) (*Client, protocol.LoginResponse, error) {
	c := New(baseURL, "")
	var resp protocol.LoginResponse
	err := c.do(ctx, http.MethodPost, "/api/v1/login", protocol.LoginRequest{LoginID: loginID, Password: password, Device: device, TOTP: code}, &resp)
	if err != nil {
		return nil, resp, err
	}
	c.Token = resp.Token
	return c, resp, nil
}

// do sends a JSON request and decodes a JSON answer into out (if non-nil).
// A refused request returns its *protocol.Error.
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode %s %s: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		var er protocol.ErrorResponse
		if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&er); err != nil || er.Error.Code == "" {
			return fmt.Errorf("%s %s: HTTP %d", method, path, resp.StatusCode)
		}
		return &er.Error
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decode %s %s: %w", method, path, err)
	}
	return nil
}

// Logout ends this session on the server.
func (c *Client) Logout(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/api/v1/logout", nil, nil)
}

// Me returns the signed-in account.
func (c *Client) Me(ctx context.Context) (protocol.Account, error) {
	var a protocol.Account
	return a, c.do(ctx, http.MethodGet, "/api/v1/me", nil, &a)
}

// Org returns the organisation with its availability now.
func (c *Client) Org(ctx context.Context) (protocol.Org, error) {
	var o protocol.Org
	return o, c.do(ctx, http.MethodGet, "/api/v1/org", nil, &o)
}

// UpdateMe changes what a staff member chooses about themselves (the
// display name clients see above their replies).
func (c *Client) UpdateMe(ctx context.Context, patch protocol.MePatch) (protocol.Account, error) {
	var a protocol.Account
	return a, c.do(ctx, http.MethodPatch, "/api/v1/me", patch, &a)
}

// UpdateSettings changes organisation settings (admins).
func (c *Client) UpdateSettings(ctx context.Context, patch protocol.SettingsPatch) (protocol.Org, error) {
	var o protocol.Org
	return o, c.do(ctx, http.MethodPatch, "/api/v1/org/settings", patch, &o)
}

// Clients lists the organisation's clients (staff).
func (c *Client) Clients(ctx context.Context) ([]protocol.Account, error) {
	var out []protocol.Account
	return out, c.do(ctx, http.MethodGet, "/api/v1/clients", nil, &out)
}

// Groups lists the organisation's client groups (a registrar's own).
func (c *Client) Groups(ctx context.Context) ([]protocol.Group, error) {
	var out []protocol.Group
	return out, c.do(ctx, http.MethodGet, "/api/v1/groups", nil, &out)
}

// CreateGroup adds a client group (admins).
func (c *Client) CreateGroup(ctx context.Context, req protocol.GroupRequest) (protocol.Group, error) {
	var out protocol.Group
	return out, c.do(ctx, http.MethodPost, "/api/v1/groups", req, &out)
}

// UpdateGroup renames a group or sets its end of access (admins).
func (c *Client) UpdateGroup(ctx context.Context, id int64, req protocol.GroupRequest) (protocol.Group, error) {
	var out protocol.Group
	return out, c.do(ctx, http.MethodPatch, fmt.Sprintf("/api/v1/groups/%d", id), req, &out)
}

// Announcements lists the announcements (admins: all; a client: those
// shown to it now).
func (c *Client) Announcements(ctx context.Context) ([]protocol.Announcement, error) {
	var out []protocol.Announcement
	return out, c.do(ctx, http.MethodGet, "/api/v1/announcements", nil, &out)
}

// CreateAnnouncement sends an announcement (admins).
func (c *Client) CreateAnnouncement(ctx context.Context, req protocol.AnnouncementRequest) (protocol.Announcement, error) {
	var out protocol.Announcement
	return out, c.do(ctx, http.MethodPost, "/api/v1/announcements", req, &out)
}

// DeleteAnnouncement removes an announcement at once (admins).
func (c *Client) DeleteAnnouncement(ctx context.Context, id int64) error {
	return c.do(ctx, http.MethodDelete, fmt.Sprintf("/api/v1/announcements/%d", id), nil, nil)
}

// GroupUsage returns each group's weekly figures (admins).
func (c *Client) GroupUsage(ctx context.Context, weeks int) ([]protocol.GroupUsage, error) {
	var out []protocol.GroupUsage
	return out, c.do(ctx, http.MethodGet, fmt.Sprintf("/api/v1/stats/groups?weeks=%d", weeks), nil, &out)
}

// APIKeys lists the organisation's API keys (admins; never the keys).
func (c *Client) APIKeys(ctx context.Context) ([]protocol.APIKey, error) {
	var out []protocol.APIKey
	return out, c.do(ctx, http.MethodGet, "/api/v1/apikeys", nil, &out)
}

// CreateAPIKey makes an API key; the answer shows it this once (admins).
func (c *Client) CreateAPIKey(ctx context.Context, req protocol.APIKeyRequest) (protocol.NewAPIKey, error) {
	var out protocol.NewAPIKey
	return out, c.do(ctx, http.MethodPost, "/api/v1/apikeys", req, &out)
}

// RevokeAPIKey ends an API key at once (admins).
func (c *Client) RevokeAPIKey(ctx context.Context, id int64) error {
	return c.do(ctx, http.MethodDelete, fmt.Sprintf("/api/v1/apikeys/%d", id), nil, nil)
}

// CreateClient registers a client and returns its one-time credentials (admins).
func (c *Client) CreateClient(ctx context.Context, req protocol.CreateClientRequest) (protocol.Credentials, error) {
	var out protocol.Credentials
	return out, c.do(ctx, http.MethodPost, "/api/v1/clients", req, &out)
}

// BulkCreateClients registers several clients at once (admins).
func (c *Client) BulkCreateClients(ctx context.Context, req protocol.BulkCreateClientsRequest) ([]protocol.Credentials, error) {
	var out []protocol.Credentials
	return out, c.do(ctx, http.MethodPost, "/api/v1/clients/bulk", req, &out)
}

// UpdateClient changes a client's nickname, note or access date (admins).
func (c *Client) UpdateClient(ctx context.Context, id int64, req protocol.UpdateClientRequest) (protocol.Account, error) {
	var out protocol.Account
	return out, c.do(ctx, http.MethodPatch, fmt.Sprintf("/api/v1/clients/%d", id), req, &out)
}

// DeleteClient deletes a client with its conversation (admins).
func (c *Client) DeleteClient(ctx context.Context, id int64) error {
	return c.do(ctx, http.MethodDelete, fmt.Sprintf("/api/v1/clients/%d", id), nil, nil)
}

// ResetClientPassword issues a new one-time password (admins).
func (c *Client) ResetClientPassword(ctx context.Context, id int64) (protocol.Credentials, error) {
	var out protocol.Credentials
	return out, c.do(ctx, http.MethodPost, fmt.Sprintf("/api/v1/clients/%d/password", id), nil, &out)
}

// Staff lists admins and counselors (staff).
func (c *Client) Staff(ctx context.Context) ([]protocol.Account, error) {
	var out []protocol.Account
	return out, c.do(ctx, http.MethodGet, "/api/v1/staff", nil, &out)
}

// CreateStaff adds an admin or counselor (admins).
func (c *Client) CreateStaff(ctx context.Context, req protocol.CreateStaffRequest) (protocol.Credentials, error) {
	var out protocol.Credentials
	return out, c.do(ctx, http.MethodPost, "/api/v1/staff", req, &out)
}

// DeleteStaff removes a staff account (admins).
func (c *Client) DeleteStaff(ctx context.Context, id int64) error {
	return c.do(ctx, http.MethodDelete, fmt.Sprintf("/api/v1/staff/%d", id), nil, nil)
}

// ResetStaffPassword issues a new one-time password for a staff member
// and ends their sessions (admins).
func (c *Client) ResetStaffPassword(ctx context.Context, id int64) (protocol.Credentials, error) {
	var out protocol.Credentials
	return out, c.do(ctx, http.MethodPost, fmt.Sprintf("/api/v1/staff/%d/password", id), nil, &out)
}

// ForceLogout ends every session of an account (admins).
func (c *Client) ForceLogout(ctx context.Context, accountID int64) error {
	return c.do(ctx, http.MethodPost, fmt.Sprintf("/api/v1/accounts/%d/logout", accountID), nil, nil)
}

// ChangePassword sets the signed-in staff member's own password; their
// other sessions end.
func (c *Client) ChangePassword(ctx context.Context, current, next string) error {
	return c.do(ctx, http.MethodPost, "/api/v1/me/password", protocol.ChangePasswordRequest{Current: current, New: next}, nil)
}

// TOTPStatus says whether the signed-in staff member's second factor is on.
func (c *Client) TOTPStatus(ctx context.Context) (protocol.TOTPStatus, error) {
	var out protocol.TOTPStatus
	return out, c.do(ctx, http.MethodGet, "/api/v1/me/totp", nil, &out)
}

// EnrollTOTP starts turning on a second factor; ConfirmTOTP finishes it.
func (c *Client) EnrollTOTP(ctx context.Context, password string) (protocol.TOTPEnrollment, error) {
	var out protocol.TOTPEnrollment
	return out, c.do(ctx, http.MethodPost, "/api/v1/me/totp", protocol.TOTPRequest{Password: password}, &out)
}

// ConfirmTOTP turns the enrolled second factor on with a code from it.
func (c *Client) ConfirmTOTP(ctx context.Context, code string) error {
	return c.do(ctx, http.MethodPost, "/api/v1/me/totp/confirm", protocol.TOTPRequest{Code: code}, nil)
}

// DisableTOTP turns one's own second factor off with a current code.
func (c *Client) DisableTOTP(ctx context.Context, code, password string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/me/totp", protocol.TOTPRequest{Code: code, Password: password}, nil)
}

// ResetStaffTOTP turns off a staff member's second factor (admins: a lost phone).
func (c *Client) ResetStaffTOTP(ctx context.Context, id int64) error {
	return c.do(ctx, http.MethodPost, fmt.Sprintf("/api/v1/staff/%d/totp/reset", id), nil, nil)
}

// Devices lists an account's devices and their deletion receipts (admins).
func (c *Client) Devices(ctx context.Context, accountID int64) ([]protocol.Device, error) {
	var out []protocol.Device
	return out, c.do(ctx, http.MethodGet, fmt.Sprintf("/api/v1/accounts/%d/devices", accountID), nil, &out)
}

// ConfirmWiped tells the server, with this client's ended session's
// token, that the device has wiped what the session's end asked it to.
func (c *Client) ConfirmWiped(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/api/v1/wiped", nil, nil)
}

// Conversations lists the conversations the account may see.
func (c *Client) Conversations(ctx context.Context) ([]protocol.Conversation, error) {
	var out []protocol.Conversation
	return out, c.do(ctx, http.MethodGet, "/api/v1/conversations", nil, &out)
}

// History returns one page of a conversation, messages with seq below
// before (0: the newest).
func (c *Client) History(ctx context.Context, conversationID, before int64, limit int) (protocol.MessagePage, error) {
	var out protocol.MessagePage
	return out, c.do(ctx, http.MethodGet, fmt.Sprintf("/api/v1/conversations/%d/messages?%s", conversationID, pageQuery(before, limit)), nil, &out)
}

// Supervise reads a conversation as a supervisor (admins): read-only, and
// recorded in the organisation's audit log.
func (c *Client) Supervise(ctx context.Context, conversationID, before int64, limit int) (protocol.MessagePage, error) {
	var out protocol.MessagePage
	return out, c.do(ctx, http.MethodGet, fmt.Sprintf("/api/v1/conversations/%d/supervise?%s", conversationID, pageQuery(before, limit)), nil, &out)
}

// AuditLog pages backwards through the organisation's audit log (admins);
// before 0 starts at the newest entry.
func (c *Client) AuditLog(ctx context.Context, before int64, limit int) (protocol.AuditPage, error) {
	var out protocol.AuditPage
	return out, c.do(ctx, http.MethodGet, "/api/v1/audit?"+pageQuery(before, limit), nil, &out)
}

func pageQuery(before int64, limit int) string {
	q := url.Values{}
	if before > 0 {
		q.Set("before", fmt.Sprint(before))
	}
	if limit > 0 {
		q.Set("limit", fmt.Sprint(limit))
	}
	return q.Encode()
}

// Assign sets (nil: clears) a conversation's assignee (staff).
func (c *Client) Assign(ctx context.Context, conversationID int64, assignee *int64) (protocol.Conversation, error) {
	var out protocol.Conversation
	return out, c.do(ctx, http.MethodPost, fmt.Sprintf("/api/v1/conversations/%d/assign", conversationID), protocol.AssignRequest{AssigneeID: assignee}, &out)
}

// Claim takes a conversation from the pool (担当する).
func (c *Client) Claim(ctx context.Context, conversationID int64) (protocol.Conversation, error) {
	var out protocol.Conversation
	return out, c.do(ctx, http.MethodPost, fmt.Sprintf("/api/v1/conversations/%d/claim", conversationID), nil, &out)
}

// Preview reads a pool conversation's waiting messages (recorded in the
// audit log).
func (c *Client) Preview(ctx context.Context, conversationID int64) (protocol.Preview, error) {
	var out protocol.Preview
	return out, c.do(ctx, http.MethodGet, fmt.Sprintf("/api/v1/conversations/%d/preview", conversationID), nil, &out)
}

// Transfer hands a conversation to a colleague (to), or back to the pool
// (nil), with a note only staff read.
func (c *Client) Transfer(ctx context.Context, conversationID int64, to *int64, note string) (protocol.Conversation, error) {
	var out protocol.Conversation
	return out, c.do(ctx, http.MethodPost, fmt.Sprintf("/api/v1/conversations/%d/transfer", conversationID), protocol.TransferRequest{To: to, Note: note}, &out)
}

// End ends a conversation (対応終了).
func (c *Client) End(ctx context.Context, conversationID int64) (protocol.Conversation, error) {
	var out protocol.Conversation
	return out, c.do(ctx, http.MethodPost, fmt.Sprintf("/api/v1/conversations/%d/end", conversationID), nil, &out)
}

// Nominees lists the staff members clients may nominate (指名).
func (c *Client) Nominees(ctx context.Context) ([]protocol.Nominee, error) {
	var out []protocol.Nominee
	return out, c.do(ctx, http.MethodGet, "/api/v1/nominees", nil, &out)
}

// Nominate asks for one staff member (指名; clients).
func (c *Client) Nominate(ctx context.Context, counselorID int64) (protocol.Conversation, error) {
	var out protocol.Conversation
	return out, c.do(ctx, http.MethodPost, "/api/v1/nominate", protocol.NominateRequest{CounselorID: counselorID}, &out)
}

// UnansweredWeeks counts the conversations that ended as 対応できず in each
// of the last weeks, newest first (admins).
func (c *Client) UnansweredWeeks(ctx context.Context, weeks int) ([]protocol.UnansweredWeek, error) {
	var out []protocol.UnansweredWeek
	return out, c.do(ctx, http.MethodGet, fmt.Sprintf("/api/v1/stats/unanswered?weeks=%d", weeks), nil, &out)
}

// IsCode reports whether err is a server error with code.
func IsCode(err error, code protocol.Code) bool {
	var pe *protocol.Error
	return errors.As(err, &pe) && pe.Code == code
}
