package server

import (
	"context"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/hours"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// runSweeper deletes expired data every SweepInterval and tells connected
// apps when an organisation opens or closes by the clock.
func (s *Server) runSweeper(ctx context.Context) {
	t := time.NewTicker(s.cfg.SweepInterval)
	defer t.Stop()
	s.SweepOnce(ctx)
	for {
		select {
		case <-t.C:
			s.SweepOnce(ctx)
		case <-ctx.Done():
			return
		}
	}
}

// SweepOnce runs one retention sweep and availability check.
func (s *Server) SweepOnce(ctx context.Context) {
	res, err := s.store.Sweep(ctx)
	s.metrics.sweeps.Inc()
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("retention sweep failed", "err", err)
		}
		return
	}
	s.metrics.sweptMessages.Add(float64(res.Messages))
	if res.Messages > 0 || res.Sessions > 0 {
		s.log.Info("retention sweep", "messages", res.Messages, "conversations", res.Conversations, "sessions", res.Sessions)
	}
	if res.Unanswered > 0 {
		s.log.Info("no counselor in time: apologised", "unanswered", res.Unanswered)
	}
	if res.NominationsLapsed > 0 || res.NominationsReturned > 0 {
		s.log.Info("nomination sweep", "switches_lapsed", res.NominationsLapsed, "returned_to_pool", res.NominationsReturned)
	}
	s.guard.prune()
	s.pruneTouched()
	s.refreshOrgs(ctx)
}

// refreshOrgs acts on what the clock changed in each organisation with
// live connections: a settings frame when its availability changed
// (business hours began or ended, a timed pause ran out), and its
// counselors disconnected when their access hours ended.
func (s *Server) refreshOrgs(ctx context.Context) {
	for _, id := range s.hub.orgs() {
		org, err := s.store.Org(ctx, id)
		if err != nil {
			s.log.Error("availability check failed", "org", id, "err", err)
			continue
		}
		if s.noteAvailability(org) {
			s.hub.publishSettings(id, org)
		}
		s.closeOutsideHours(org)
	}
}

// pruneTouched forgets session-use times older than the idle limit: those
// sessions have ended, or their next use is recorded anyway.
func (s *Server) pruneTouched() {
	now := s.cfg.Now()
	s.touched.Range(func(k, v any) bool {
		if now.Sub(v.(time.Time)) > s.cfg.StaffIdle {
			s.touched.Delete(k)
		}
		return true
	})
}

// noteAvailability records org's availability and reports whether it
// differs from the last one recorded.
func (s *Server) noteAvailability(org protocol.Org) bool {
	s.availMu.Lock()
	defer s.availMu.Unlock()
	prev, seen := s.lastAvail[org.ID]
	s.lastAvail[org.ID] = org.Availability
	return seen && !sameAvailability(prev, org.Availability)
}

func sameAvailability(a, b hours.Availability) bool {
	if a.State != b.State || (a.ReopensAt == nil) != (b.ReopensAt == nil) {
		return false
	}
	return a.ReopensAt == nil || a.ReopensAt.Equal(*b.ReopensAt)
}
