package rules

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/store"
)

// Client groups and the registrar role (issue 16). A provider serves the
// employees of several companies: each company (or contract, or seminar)
// is a group of clients with its own name and end of access, and the
// people who hand out the slips (registrars) are not the counselors, so
// that a company's own counselor cannot tell who is who.

// Scope is what a store has loaded about who manages a client: the
// actor's groups (a registrar's; nil for others) and the client's group.
type Scope struct {
	ActorGroups []int64
	ClientGroup int64
}

// ManagesClient reports whether actor may register, list with login IDs,
// reset and delete a client of group scope.ClientGroup in orgID: admins of
// the organisation (and the operator) any, registrars of their groups.
func ManagesClient(actor store.Principal, orgID int64, s Scope) bool {
	if MayAdminister(actor, orgID) {
		return true
	}
	return actor.Role == protocol.RoleRegistrar && actor.OrgID == orgID && slices.Contains(s.ActorGroups, s.ClientGroup)
}

// NewGroup checks a group about to be created by actor (admins).
func NewGroup(actor store.Principal, orgID int64, req protocol.GroupRequest, now time.Time) (protocol.Group, error) {
	if !MayAdminister(actor, orgID) {
		return protocol.Group{}, protocol.Errorf(protocol.CodeForbidden, "only admins create groups")
	}
	if req.Name == nil {
		return protocol.Group{}, protocol.Errorf(protocol.CodeInvalid, "a group needs a name")
	}
	g := protocol.Group{OrgID: orgID, CreatedAt: now}
	out, _, _, err := changeGroup(g, req, now)
	return out, err
}

// GroupUpdate is what UpdateGroup decides.
type GroupUpdate struct {
	Group protocol.Group
	// Fields names what changed, for the audit log.
	Fields []string
	// AccessEnded: the group's access is over as of now; every session of
	// its clients ends at once.
	AccessEnded bool
}

// UpdateGroup applies an admin's change to a group.
func UpdateGroup(actor store.Principal, g protocol.Group, req protocol.GroupRequest, now time.Time) (GroupUpdate, error) {
	if !MayAdminister(actor, g.OrgID) {
		return GroupUpdate{}, protocol.Errorf(protocol.CodeForbidden, "only admins change groups")
	}
	out, fields, ended, err := changeGroup(g, req, now)
	return GroupUpdate{Group: out, Fields: fields, AccessEnded: ended}, err
}

func changeGroup(g protocol.Group, req protocol.GroupRequest, now time.Time) (protocol.Group, []string, bool, error) {
	var fields []string
	if req.Name != nil {
		name := strings.TrimSpace(*req.Name)
		if name == "" || utf8.RuneCountInString(name) > protocol.MaxGroupNameRunes {
			return g, nil, false, protocol.Errorf(protocol.CodeInvalid, "a group's name must be 1 to %d characters", protocol.MaxGroupNameRunes)
		}
		g.Name = name
		fields = append(fields, "name")
	}
	if req.AccessUntil != nil && req.ClearAccessUntil {
		return g, nil, false, protocol.Errorf(protocol.CodeInvalid, "give access_until or clear_access_until, not both")
	}
	if req.AccessUntil != nil {
		t := req.AccessUntil.UTC().Truncate(time.Millisecond)
		g.AccessUntil = &t
	}
	if req.ClearAccessUntil {
		g.AccessUntil = nil
	}
	ended := false
	if req.AccessUntil != nil || req.ClearAccessUntil {
		fields = append(fields, "access_until")
		ended = g.AccessUntil != nil && !now.Before(*g.AccessUntil)
	}
	return g, fields, ended, nil
}

// NewRegistrar checks the groups a registrar is to register clients of:
// at least one, every one the organisation's (orgGroups).
func NewRegistrar(groups, orgGroups []int64) error {
	if len(groups) == 0 {
		return protocol.Errorf(protocol.CodeInvalid, "a registrar needs at least one group")
	}
	for _, g := range groups {
		if !slices.Contains(orgGroups, g) {
			return protocol.Errorf(protocol.CodeInvalid, "no such group: %d", g)
		}
	}
	return nil
}

// AccountFor is an account as viewer may see it: a counselor never sees
// a client's login ID (who received which slip is the registrars'
// business), nor does anyone but a registrar or admin see a registrar's
// groups; a client sees no note.
func AccountFor(viewer store.Principal, a protocol.Account) protocol.Account {
	if a.Role == protocol.RoleClient && !viewer.Role.ManagesClients() && viewer.AccountID != a.ID && viewer != (store.Principal{}) {
		a.LoginID = ""
	}
	if !viewer.IsStaff() && viewer != (store.Principal{}) {
		a.Note = ""
	}
	return a
}
