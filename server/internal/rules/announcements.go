package rules

import (
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/pkg/retention"
	"github.com/taiwa-chat/taiwa/server/internal/store"
)

// NewAnnouncement checks an admin's announcement (issue 16): its text,
// that every group named is the organisation's (orgGroups), that it ends
// after it starts, and sets when it is deleted: the retention period
// after it stops being shown.
func NewAnnouncement(actor store.Principal, req protocol.AnnouncementRequest, orgGroups []int64, s protocol.Settings, now time.Time) (protocol.Announcement, error) {
	if actor.Role != protocol.RoleAdmin {
		return protocol.Announcement{}, protocol.Errorf(protocol.CodeForbidden, "only admins send announcements")
	}
	body := strings.TrimSpace(req.Body)
	if body == "" || utf8.RuneCountInString(body) > protocol.MaxAnnouncementRunes {
		return protocol.Announcement{}, protocol.Errorf(protocol.CodeInvalid, "an announcement is 1 to %d characters", protocol.MaxAnnouncementRunes)
	}
	if !utf8.ValidString(body) {
		return protocol.Announcement{}, protocol.Errorf(protocol.CodeInvalid, "an announcement must be UTF-8 text")
	}
	groups := slices.Clone(req.GroupIDs)
	slices.Sort(groups)
	groups = slices.Compact(groups)
	for _, g := range groups {
		if !slices.Contains(orgGroups, g) {
			return protocol.Announcement{}, protocol.Errorf(protocol.CodeInvalid, "no such group: %d", g)
		}
	}
	a := protocol.Announcement{Body: body, GroupIDs: groups, CreatedAt: now}
	if req.StartsAt != nil {
		t := req.StartsAt.UTC().Truncate(time.Millisecond)
		a.StartsAt = &t
	}
	if req.EndsAt != nil {
		t := req.EndsAt.UTC().Truncate(time.Millisecond)
		if !t.After(now) || (a.StartsAt != nil && !t.After(*a.StartsAt)) {
			return protocol.Announcement{}, protocol.Errorf(protocol.CodeInvalid, "an announcement must end after now and after it starts")
		}
		a.EndsAt = &t
	}
	shownUntil := now
	if a.EndsAt != nil {
		shownUntil = *a.EndsAt
	}
	a.ExpiresAt = retention.ExpiresAt(shownUntil, time.Duration(s.RetentionSeconds)*time.Second)
	return a, nil
}

// Shown reports whether a client of group sees an announcement now: it
// is for everyone or for that group, it has started, not ended, and not
// expired.
func Shown(a protocol.Announcement, group int64, now time.Time) bool {
	if len(a.GroupIDs) > 0 && !slices.Contains(a.GroupIDs, group) {
		return false
	}
	if a.StartsAt != nil && now.Before(*a.StartsAt) {
		return false
	}
	if a.EndsAt != nil && !now.Before(*a.EndsAt) {
		return false
	}
	return !retention.Expired(a.ExpiresAt, now)
}

// AnnouncementForClient is an announcement as a client is sent it: without the
// groups it went to.
func AnnouncementForClient(a protocol.Announcement) protocol.Announcement {
	a.GroupIDs = nil
	return a
}

// AnnouncementAudit says in the audit log to whom an announcement went,
// by group number, never its text.
func AnnouncementAudit(a protocol.Announcement) string {
	if len(a.GroupIDs) == 0 {
		return "everyone"
	}
	parts := make([]string, len(a.GroupIDs))
	for i, g := range a.GroupIDs {
		parts[i] = "group " + strconv.FormatInt(g, 10)
	}
	return strings.Join(parts, ",")
}
