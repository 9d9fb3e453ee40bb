package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/taiwa-chat/taiwa/server/internal/store"
)

var _ store.TypingRelay = (*DB)(nil)

// typingNote is a typing hint on the wire between replicas.
type typingNote struct {
	Replica string       `json:"r"`
	Typing  store.Typing `json:"t"`
}

// RelayTyping tells the other replicas that someone is typing; this
// replica's own connections have heard it already.
func (db *DB) RelayTyping(ctx context.Context, t store.Typing) error {
	b, err := json.Marshal(typingNote{Replica: db.replica, Typing: t})
	if err != nil {
		return err
	}
	if _, err := db.pool.Exec(ctx, "SELECT pg_notify($1, $2)", typingChannel, string(b)); err != nil {
		return fmt.Errorf("relay typing: %w", err)
	}
	return nil
}

// heardTyping hands another replica's hint to this one's connections.
func (db *DB) heardTyping(payload string) {
	var n typingNote
	if json.Unmarshal([]byte(payload), &n) != nil || n.Replica == db.replica || db.onTyping == nil {
		return
	}
	db.onTyping(n.Typing)
}
