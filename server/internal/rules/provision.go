package rules

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/store"
)

// NewAPIKey checks an admin's new API key (issue 16): a name, and at least
// one group, every one the organisation's.
func NewAPIKey(actor store.Principal, req protocol.APIKeyRequest, orgGroups []int64) (protocol.APIKeyRequest, error) {
	if actor.Role != protocol.RoleAdmin {
		return req, protocol.Errorf(protocol.CodeForbidden, "only admins make API keys")
	}
	req.Name = strings.TrimSpace(req.Name)
	if req.Name == "" || utf8.RuneCountInString(req.Name) > protocol.MaxAPIKeyNameRunes {
		return req, protocol.Errorf(protocol.CodeInvalid, "an API key's name is 1 to %d characters", protocol.MaxAPIKeyNameRunes)
	}
	if err := NewRegistrar(req.GroupIDs, orgGroups); err != nil {
		return req, protocol.Errorf(protocol.CodeInvalid, "an API key needs groups of the organisation: %s", protocol.AsError(err).Message)
	}
	return req, nil
}

// ValidIdempotencyKey checks an Idempotency-Key header: present, short,
// printable ASCII.
func ValidIdempotencyKey(k string) error {
	if k == "" {
		return protocol.Errorf(protocol.CodeInvalid, "a creating request needs an %s header", protocol.HeaderIdempotencyKey)
	}
	if len(k) > protocol.MaxIdempotencyKeyBytes {
		return protocol.Errorf(protocol.CodeInvalid, "%s must be at most %d bytes", protocol.HeaderIdempotencyKey, protocol.MaxIdempotencyKeyBytes)
	}
	for _, c := range []byte(k) {
		if c < 0x21 || c > 0x7e {
			return protocol.Errorf(protocol.CodeInvalid, "%s must be printable ASCII", protocol.HeaderIdempotencyKey)
		}
	}
	return nil
}

// AutoDeleteDue reports whether a client whose access ended is to be
// deleted now: the organisation deletes days after the end (0: never).
func AutoDeleteDue(a protocol.Account, days int, now time.Time) bool {
	end := a.AccessEnds()
	return days > 0 && end != nil && !now.Before(end.AddDate(0, 0, days))
}

// DeletionDue is when a client will be deleted automatically (nil: not
// scheduled), for the admins' list.
func DeletionDue(a protocol.Account, days int) *time.Time {
	end := a.AccessEnds()
	if days <= 0 || end == nil {
		return nil
	}
	t := end.AddDate(0, 0, days)
	return &t
}
