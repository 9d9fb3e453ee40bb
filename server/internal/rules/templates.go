package rules

import (
	"strings"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/store"
)

// TemplateOwner is whose a stored template is: the organisation's
// (OwnerID 0) or one staff member's.
type TemplateOwner struct {
	OrgID   int64
	OwnerID int64
}

// Scope is the template's scope as the protocol names it.
func (o TemplateOwner) Scope() string {
	if o.OwnerID == 0 {
		return protocol.ScopeOrg
	}
	return protocol.ScopePersonal
}

// MaySeeTemplate reports whether actor sees a template: staff see their
// organisation's and their own, never a colleague's personal ones (those
// are "not found", as if they did not exist).
func MaySeeTemplate(actor store.Principal, o TemplateOwner) bool {
	return actor.IsStaff() && actor.OrgID == o.OrgID && (o.OwnerID == 0 || o.OwnerID == actor.AccountID)
}

// EditTemplate decides whether actor may change or delete a template:
// the organisation's are its admins' to manage, a personal one its
// owner's.
func EditTemplate(actor store.Principal, o TemplateOwner) error {
	if !MaySeeTemplate(actor, o) {
		return protocol.Errorf(protocol.CodeNotFound, "no such template")
	}
	if o.OwnerID == 0 && actor.Role != protocol.RoleAdmin {
		return protocol.Errorf(protocol.CodeForbidden, "only admins change the organisation's templates")
	}
	return nil
}

// NewTemplate decides a template about to be created, given how many
// the scope already holds (counted in the same transaction, so that
// concurrent creations never pass the limit), and returns it tidied and
// its owner.
func NewTemplate(actor store.Principal, req protocol.TemplateRequest, existing int) (protocol.TemplateRequest, TemplateOwner, error) {
	if !actor.IsStaff() {
		return req, TemplateOwner{}, protocol.Errorf(protocol.CodeForbidden, "staff only")
	}
	if err := req.Validate(true); err != nil {
		return req, TemplateOwner{}, err
	}
	o := TemplateOwner{OrgID: actor.OrgID}
	limit := protocol.MaxOrgTemplates
	if req.Scope == protocol.ScopePersonal {
		o.OwnerID, limit = actor.AccountID, protocol.MaxPersonalTemplates
	} else if actor.Role != protocol.RoleAdmin {
		return req, o, protocol.Errorf(protocol.CodeForbidden, "only admins add the organisation's templates")
	}
	if existing >= limit {
		return req, o, protocol.Errorf(protocol.CodeConflict, "this list already holds %d templates, the most it may", limit)
	}
	req.Title = strings.TrimSpace(req.Title)
	return req, o, nil
}

// UpdateTemplate decides a template's replacement.
func UpdateTemplate(actor store.Principal, o TemplateOwner, req protocol.TemplateRequest) (protocol.TemplateRequest, error) {
	if err := EditTemplate(actor, o); err != nil {
		return req, err
	}
	if err := req.Validate(false); err != nil {
		return req, err
	}
	req.Title = strings.TrimSpace(req.Title)
	req.Scope = o.Scope()
	return req, nil
}
