package server

import (
	"context"
	"path/filepath"
	"strings"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/sealkeys"
	"github.com/taiwa-chat/taiwa/server/internal/store"
	"github.com/taiwa-chat/taiwa/server/internal/store/postgres"
	"github.com/taiwa-chat/taiwa/server/internal/store/sqlite"
)

// IsPostgres reports whether a --db value names PostgreSQL.
func IsPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// openStore opens the store cfg names: PostgreSQL when cfg.DB is set,
// else SQLite in the data directory.
func openStore(cfg Config, h *hub, onBatch func(int, time.Duration)) (store.Store, error) {
	publish := h.publish
	if cfg.DB == "" {
		return sqlite.Open(cfg.DataDir, sqlite.Options{
			Now:        cfg.Now,
			Publish:    publish,
			Logger:     cfg.Logger,
			OnBatch:    onBatch,
			MasterKey:  cfg.MasterKey,
			StaffIdle:  cfg.StaffIdle,
			SharedIdle: cfg.SharedIdle,
		})
	}
	master := cfg.MasterKey
	if master == nil {
		var err error
		if master, err = sealkeys.LoadOrCreate(filepath.Join(cfg.DataDir, sqlite.MasterKeyFile)); err != nil {
			return nil, err
		}
	}
	kek := cfg.KEKDir
	if kek == "" {
		kek = postgres.DefaultKEKDir(cfg.DataDir)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return postgres.Open(ctx, cfg.DB, postgres.Options{
		Now:         cfg.Now,
		Publish:     publish,
		Logger:      cfg.Logger,
		OnBatch:     onBatch,
		MasterKey:   master,
		KEKDir:      kek,
		KEKRotation: cfg.KEKRotation,
		// Attachments' sealed files (issue 14): replicas on several
		// hosts share this directory like the key directory.
		AttachmentDir: filepath.Join(cfg.DataDir, "attachments"),
		OnTyping: func(t store.Typing) {
			h.typing(t.OrgID, protocol.Conversation{ID: t.ConversationID, ClientID: t.ClientID}, t.Frame)
		},
		OnGap:      h.resumeAll,
		StaffIdle:  cfg.StaffIdle,
		SharedIdle: cfg.SharedIdle,
	})
}
