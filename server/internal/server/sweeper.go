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
	s.guard.prune()
	s.refreshAvailability(ctx)
	s.closeOutsideHours(ctx)
}

// refreshAvailability pushes a settings frame to an organisation whose
// availability changed with the clock (business hours began or ended, a
// timed pause ran out).
func (s *Server) refreshAvailability(ctx context.Context) {
	for _, id := range s.hub.orgs() {
		org, err := s.store.Org(ctx, id)
		if err != nil {
			s.log.Error("availability check failed", "org", id, "err", err)
			continue
		}
		if s.noteAvailability(org) {
			s.hub.publishOrg(id, outFrame{data: protocol.Encode(protocol.SettingsFrame{Type: protocol.TypeSettings, Org: org})})
		}
	}
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
