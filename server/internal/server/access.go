package server

import (
	"context"
	"net/http"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/store"
)

// checkAccess refuses client data to a counselor outside the
// organisation's access hours, saying when they open. Admins and clients
// are never refused here.
func (s *Server) checkAccess(ctx context.Context, p store.Principal) error {
	if p.Role != protocol.RoleCounselor {
		return nil
	}
	org, err := s.store.Org(ctx, p.OrgID)
	if err != nil {
		return err
	}
	if open, opens := org.Settings.CounselorWindow(s.cfg.Now()); !open {
		return outsideHours(opens)
	}
	return nil
}

func outsideHours(opens time.Time) *protocol.Error {
	at := opens.UTC().Truncate(time.Second)
	return &protocol.Error{Code: protocol.CodeOutsideHours, Message: "client data is open to counselors only around business hours", ReopensAt: &at}
}

// clientData guards a handler that returns client data with checkAccess.
func (s *Server) clientData(fn func(http.ResponseWriter, *http.Request, *session) error) func(http.ResponseWriter, *http.Request, *session) error {
	return func(w http.ResponseWriter, r *http.Request, a *session) error {
		if err := s.checkAccess(r.Context(), a.p); err != nil {
			return err
		}
		return fn(w, r, a)
	}
}

// closeOutsideHours disconnects an organisation's counselors once their
// access hours have ended.
func (s *Server) closeOutsideHours(org protocol.Org) {
	if open, opens := org.Settings.CounselorWindow(s.cfg.Now()); !open {
		s.hub.stopRole(org.ID, protocol.RoleCounselor, endReason{code: protocol.CloseOutsideHours, reason: "outside access hours",
			frame: protocol.Encode(protocol.ErrorFrame{Type: protocol.TypeError, Error: *outsideHours(opens)})})
	}
}
