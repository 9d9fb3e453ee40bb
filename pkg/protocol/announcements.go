package protocol

import "time"

// Announcements (お知らせ, issue 16): an admin's notice to all clients or
// to chosen groups (changed hours, a holiday). They are not conversation
// messages: they wake no focus rule, have no sequence number, and are
// deleted on the retention schedule (ExpiresAt) as messages are.

// MaxAnnouncementRunes bounds an announcement's text.
const MaxAnnouncementRunes = 1000

// Announcement is one notice. GroupIDs (empty: every client) is for
// admins' eyes; clients are sent only what is shown to them now.
type Announcement struct {
	ID       int64      `json:"id"`
	Body     string     `json:"body"`
	GroupIDs []int64    `json:"group_ids,omitempty"`
	StartsAt *time.Time `json:"starts_at,omitempty"` // shown from (nil: at once)
	EndsAt   *time.Time `json:"ends_at,omitempty"`   // shown until (nil: until it expires)
	// ExpiresAt is when it is deleted: the organisation's retention period
	// after it stops being shown (after EndsAt, else after it was sent).
	ExpiresAt time.Time `json:"expires_at"`
	CreatedAt time.Time `json:"created_at"`
}

// AnnouncementRequest sends an announcement (admins).
type AnnouncementRequest struct {
	Body     string     `json:"body"`
	GroupIDs []int64    `json:"group_ids,omitempty"`
	StartsAt *time.Time `json:"starts_at,omitempty"`
	EndsAt   *time.Time `json:"ends_at,omitempty"`
}

// TypeNews (server to clients) says there is news: the app asks GET
// /announcements for it. It carries nothing else, like the push that
// says the same to a phone without a connection.
const TypeNews = "news"

// NewsFrame is a TypeNews frame.
type NewsFrame struct {
	Type string `json:"type"`
}

func (*NewsFrame) serverFrame() {}
