package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/taiwa-chat/taiwa/server/internal/kekdir"
	"github.com/taiwa-chat/taiwa/server/internal/sealkeys"
)

// vault keeps the client and slice keys in the sealing_keys table,
// wrapped under the key-encryption key (KEK) of the current epoch.
//
// Why: a key deleted from PostgreSQL is not gone. Its row stays in a dead
// tuple until vacuum and a later write overwrite the page, and in the WAL
// and every base backup and archived segment. Wrapped by a master key
// that lives on, such a copy would bring the messages back. Wrapped under
// a KEK that is destroyed, it brings back nothing. So the KEKs live
// outside the database (kekdir), and rotate: every rotation wraps each
// live key again under the new epoch's KEK, then destroys the older
// epochs' KEKs. A key deleted at time T was only ever wrapped under
// epochs up to the one current at T; the first rotation after T destroys
// them all. See docs/security.md for the guarantee and its delay.
type vault struct {
	pool *pgxpool.Pool
	kek  *kekdir.Dir
}

var _ sealkeys.Vault = (*vault)(nil)

// check makes sure the current epoch's KEK opens with this master key: a
// wrong key or directory stops the start, not the first read.
//
// A database older than the directory (a restored backup) names an epoch
// destroyed since: it moves to the directory's newest epoch, and the next
// sweep drops the keys it can no longer read, with their messages. Their
// words were erased by the rotations; the rest of the backup serves.
func (v *vault) check(ctx context.Context, log *slog.Logger) error {
	var epoch int64
	if err := v.pool.QueryRow(ctx, "SELECT current FROM kek_state").Scan(&epoch); err != nil {
		return fmt.Errorf("read key-encryption epoch: %w", err)
	}
	_, err := v.kek.Box(epoch)
	if errors.Is(err, kekdir.ErrDestroyed) {
		epochs, lerr := v.kek.Epochs()
		if lerr != nil {
			return lerr
		}
		if n := len(epochs); n > 0 && epochs[n-1] > epoch {
			log.Warn("the database is older than the key-encryption keys (a restored backup?): messages whose keys were wrapped under destroyed epochs are unreadable and will be deleted",
				"database_epoch", epoch, "newest_epoch", epochs[n-1])
			if _, err := v.pool.Exec(ctx, "UPDATE kek_state SET current = $1 WHERE id = 1 AND current < $1", epochs[n-1]); err != nil {
				return fmt.Errorf("move to key-encryption epoch %d: %w", epochs[n-1], err)
			}
			return v.check(ctx, log)
		}
	}
	if err != nil {
		return fmt.Errorf("key-encryption key directory %s: %w (every replica needs the same --kek-dir and master key)", v.kek.Path(), err)
	}
	return nil
}

func (v *vault) unwrap(kind string, id, epoch int64, wrapped []byte) ([]byte, error) {
	box, err := v.kek.Box(epoch)
	if errors.Is(err, kekdir.ErrDestroyed) {
		// Wrapped under a destroyed epoch: only a copy of the database
		// from before a rotation holds such a row.
		return nil, sealkeys.ErrErased
	}
	if err != nil {
		return nil, err
	}
	k, err := box.Open(wrapped, sealkeys.Label(kind, id))
	if err != nil {
		return nil, fmt.Errorf("unwrap %s key %d: %w", kind, id, err)
	}
	return k, nil
}

// Load reads and unwraps a key.
func (v *vault) Load(kind string, id int64) ([]byte, error) {
	ctx := context.Background()
	var (
		epoch   int64
		wrapped []byte
	)
	err := v.pool.QueryRow(ctx, "SELECT kek, wrapped FROM sealing_keys WHERE kind = $1 AND id = $2", kind, id).Scan(&epoch, &wrapped)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, sealkeys.ErrErased
	}
	if err != nil {
		return nil, fmt.Errorf("read %s key %d: %w", kind, id, err)
	}
	return v.unwrap(kind, id, epoch, wrapped)
}

// Create stores a key under the current epoch, in a transaction of its
// own (it must stay durable even if the write that needed it rolls back),
// unless another replica stored one first: that one is returned. The
// share lock on kek_state keeps a rotation from retiring the epoch until
// the key is committed, so that the rotation wraps it again.
func (v *vault) Create(kind string, id int64, key []byte) ([]byte, error) {
	ctx := context.Background()
	var out []byte
	err := pgx.BeginFunc(ctx, v.pool, func(tx pgx.Tx) error {
		var epoch int64
		if err := tx.QueryRow(ctx, "SELECT current FROM kek_state WHERE id = 1 FOR SHARE").Scan(&epoch); err != nil {
			return fmt.Errorf("read key-encryption epoch: %w", err)
		}
		box, err := v.kek.Box(epoch)
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, "INSERT INTO sealing_keys(kind, id, kek, wrapped) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
			kind, id, epoch, box.Seal(key, sealkeys.Label(kind, id)))
		if err != nil {
			return fmt.Errorf("store %s key %d: %w", kind, id, err)
		}
		if tag.RowsAffected() == 1 {
			out = key
			return nil
		}
		var wrapped []byte
		if err := tx.QueryRow(ctx, "SELECT kek, wrapped FROM sealing_keys WHERE kind = $1 AND id = $2", kind, id).Scan(&epoch, &wrapped); err != nil {
			return fmt.Errorf("read %s key %d: %w", kind, id, err)
		}
		out, err = v.unwrap(kind, id, epoch, wrapped)
		return err
	})
	return out, err
}

// DestroyClient deletes a client's key. (The store deletes it inside the
// deleting transaction instead; this serves the Ring's own callers.)
func (v *vault) DestroyClient(id int64) error {
	_, err := v.pool.Exec(context.Background(), "DELETE FROM sealing_keys WHERE kind = 'client' AND id = $1", id)
	if err != nil {
		return fmt.Errorf("destroy client key: %w", err)
	}
	return nil
}

// DestroySlicesThrough deletes the keys of the slices up to last.
func (v *vault) DestroySlicesThrough(last int64) error {
	_, err := v.pool.Exec(context.Background(), "DELETE FROM sealing_keys WHERE kind = 'slice' AND id <= $1", last)
	if err != nil {
		return fmt.Errorf("destroy slice keys: %w", err)
	}
	return nil
}

// ClientIDs lists the clients with a key.
func (v *vault) ClientIDs() ([]int64, error) {
	rows, err := v.pool.Query(context.Background(), "SELECT id FROM sealing_keys WHERE kind = 'client'")
	if err != nil {
		return nil, fmt.Errorf("list client keys: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// Count reports how many keys are stored.
func (v *vault) Count() (int, error) {
	var n int
	if err := v.pool.QueryRow(context.Background(), "SELECT COUNT(*) FROM sealing_keys").Scan(&n); err != nil {
		return 0, fmt.Errorf("count keys: %w", err)
	}
	return n, nil
}

// Close does nothing: the pool is the store's.
func (v *vault) Close() error { return nil }

// dropUnreadable deletes a key no epoch can open, and the messages it
// sealed.
func dropUnreadable(ctx context.Context, tx pgx.Tx, kind string, id int64) error {
	del := "DELETE FROM messages WHERE slice = $1 AND sealed IS NOT NULL"
	if kind == "client" {
		del = "DELETE FROM messages WHERE sealed IS NOT NULL AND conversation_id IN (SELECT id FROM conversations WHERE client_id = $1)"
	}
	if _, err := tx.Exec(ctx, del, id); err != nil {
		return fmt.Errorf("drop the messages of an unreadable key: %w", err)
	}
	if _, err := tx.Exec(ctx, "DELETE FROM sealing_keys WHERE kind = $1 AND id = $2", kind, id); err != nil {
		return fmt.Errorf("drop unreadable key: %w", err)
	}
	return nil
}

// rotateBatch bounds how many keys one transaction wraps again.
const rotateBatch = 500

// rotate starts a new epoch when the current one is older than period,
// then retires every older epoch: each key still wrapped under one is
// wrapped again under the current epoch, and the older KEKs are
// destroyed. Every step can be repeated: a replica that dies halfway
// leaves the next sweep (on any replica) to finish. It reports how many
// KEKs it destroyed. The caller holds the sweep lock.
func (v *vault) rotate(ctx context.Context, now time.Time, period time.Duration) (int, error) {
	var current, rotatedAt int64
	if err := v.pool.QueryRow(ctx, "SELECT current, rotated_at FROM kek_state WHERE id = 1").Scan(&current, &rotatedAt); err != nil {
		return 0, fmt.Errorf("read key-encryption epoch: %w", err)
	}
	if now.UnixMilli()-rotatedAt >= period.Milliseconds() {
		next := current + 1
		if err := v.kek.Create(next); err != nil {
			return 0, err
		}
		// Waits for the keys being created under the current epoch (they
		// hold the row FOR SHARE) to commit: the loop below then sees them.
		if _, err := v.pool.Exec(ctx, "UPDATE kek_state SET current = $1, rotated_at = $2 WHERE id = 1", next, now.UnixMilli()); err != nil {
			return 0, fmt.Errorf("start key-encryption epoch %d: %w", next, err)
		}
		current = next
	}
	for {
		n, err := v.rewrapBatch(ctx, current)
		if err != nil {
			return 0, err
		}
		if n < rotateBatch {
			break
		}
	}
	return v.kek.DestroyBelow(current)
}

// rewrapBatch wraps up to rotateBatch keys of older epochs again under
// epoch current.
func (v *vault) rewrapBatch(ctx context.Context, current int64) (int, error) {
	box, err := v.kek.Box(current)
	if err != nil {
		return 0, err
	}
	n := 0
	err = pgx.BeginFunc(ctx, v.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, "SELECT kind, id, kek, wrapped FROM sealing_keys WHERE kek < $1 LIMIT $2 FOR UPDATE", current, rotateBatch)
		if err != nil {
			return fmt.Errorf("find keys to wrap again: %w", err)
		}
		type row struct {
			kind         string
			id, epoch    int64
			wrapped, key []byte
		}
		var todo []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.kind, &r.id, &r.epoch, &r.wrapped); err != nil {
				rows.Close()
				return fmt.Errorf("find keys to wrap again: %w", err)
			}
			todo = append(todo, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("find keys to wrap again: %w", err)
		}
		for _, r := range todo {
			k, err := v.unwrap(r.kind, r.id, r.epoch, r.wrapped)
			if err != nil {
				// A key whose epoch is gone (a restored backup) cannot be
				// read by anyone: it is as good as destroyed, so it goes,
				// with the messages it sealed.
				if errors.Is(err, sealkeys.ErrErased) {
					if err := dropUnreadable(ctx, tx, r.kind, r.id); err != nil {
						return err
					}
					continue
				}
				return err
			}
			if _, err := tx.Exec(ctx, "UPDATE sealing_keys SET kek = $1, wrapped = $2 WHERE kind = $3 AND id = $4",
				current, box.Seal(k, sealkeys.Label(r.kind, r.id)), r.kind, r.id); err != nil {
				return fmt.Errorf("wrap key again: %w", err)
			}
		}
		n = len(todo)
		return nil
	})
	return n, err
}
