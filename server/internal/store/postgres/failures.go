package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/taiwa-chat/taiwa/server/internal/store"
)

var _ store.LoginFailures = (*DB)(nil)

// loginFailuresKept is how long a failed sign-in is remembered: longer
// than any lockout window.
const loginFailuresKept = 24 * time.Hour

// RecordLoginFailure notes a failed guess. It is not a write of the
// product's state: it goes straight to the database, outside the writer
// and its order.
func (db *DB) RecordLoginFailure(ctx context.Context, id, addr string, at time.Time) error {
	if _, err := db.pool.Exec(ctx, "INSERT INTO login_failures(login_id, addr, at) VALUES ($1, $2, $3)", id, addr, ms(at)); err != nil {
		return fmt.Errorf("record failed sign-in: %w", err)
	}
	return nil
}

// LoginFailures returns the failed guesses at id since since.
func (db *DB) LoginFailures(ctx context.Context, id, addr string, since time.Time) (fromAddr, all []time.Time, err error) {
	rows, err := db.pool.Query(ctx, "SELECT addr, at FROM login_failures WHERE login_id = $1 AND at >= $2 ORDER BY at", id, ms(since))
	if err != nil {
		return nil, nil, fmt.Errorf("read failed sign-ins: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			a  string
			at int64
		)
		if err := rows.Scan(&a, &at); err != nil {
			return nil, nil, fmt.Errorf("read failed sign-ins: %w", err)
		}
		all = append(all, fromMS(at))
		if a == addr {
			fromAddr = append(fromAddr, fromMS(at))
		}
	}
	return fromAddr, all, rows.Err()
}
