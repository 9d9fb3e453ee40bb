package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/taiwa-chat/taiwa/server/internal/store"
)

var _ store.Presence = (*DB)(nil)

// Presence is kept per replica. A replica says it is running every
// presenceBeat; one that has not said so for presenceLost (killed,
// frozen, cut off) counts as holding no connection.
const (
	presenceBeat = 5 * time.Second
	presenceLost = 20 * time.Second
)

// SetOnline records whether this replica holds a live connection of the
// account.
func (db *DB) SetOnline(ctx context.Context, accountID int64, online bool) error {
	var err error
	if online {
		_, err = db.pool.Exec(ctx, "INSERT INTO presence(replica, account_id) VALUES ($1, $2) ON CONFLICT DO NOTHING", db.replica, accountID)
	} else {
		_, err = db.pool.Exec(ctx, "DELETE FROM presence WHERE replica = $1 AND account_id = $2", db.replica, accountID)
	}
	if err != nil {
		return fmt.Errorf("record presence: %w", err)
	}
	return nil
}

// Online reports whether any running replica holds a live connection of
// the account. Liveness is wall-clock time, whatever the store's clock.
func (db *DB) Online(ctx context.Context, accountID int64) (bool, error) {
	var on bool
	err := db.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM presence p JOIN replicas r ON r.id = p.replica
		WHERE p.account_id = $1 AND r.seen_at > $2)`, accountID, time.Now().Add(-presenceLost).UnixMilli()).Scan(&on)
	if err != nil {
		return false, fmt.Errorf("read presence: %w", err)
	}
	return on, nil
}

// beat says this replica is running, every presenceBeat until ctx ends,
// and forgets replicas gone for an hour with their presence.
func (db *DB) beat(ctx context.Context) {
	t := time.NewTicker(presenceBeat)
	defer t.Stop()
	for {
		now := time.Now().UnixMilli()
		if _, err := db.pool.Exec(ctx, `INSERT INTO replicas(id, seen_at) VALUES ($1, $2)
			ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at`, db.replica, now); err != nil && ctx.Err() == nil {
			db.log.Warn("presence heartbeat failed", "err", err)
		}
		if _, err := db.pool.Exec(ctx, `DELETE FROM presence WHERE replica IN (SELECT id FROM replicas WHERE seen_at < $1)`, now-time.Hour.Milliseconds()); err == nil {
			db.pool.Exec(ctx, "DELETE FROM replicas WHERE seen_at < $1", now-time.Hour.Milliseconds()) //nolint:errcheck // next beat tries again
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
	}
}

// leave forgets this replica's presence as it stops.
func (db *DB) leave() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	db.pool.Exec(ctx, "DELETE FROM presence WHERE replica = $1", db.replica) //nolint:errcheck // a stale entry ages out with the replica's beat
	db.pool.Exec(ctx, "DELETE FROM replicas WHERE id = $1", db.replica)      //nolint:errcheck
}
