package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/jackc/pgx/v5"
	"strings"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/hours"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/rules"
	"github.com/taiwa-chat/taiwa/server/internal/store"
)

func (db *DB) orgView(id int64, s protocol.Settings, appCode string) protocol.Org {
	return protocol.Org{ID: id, Settings: s, Availability: hours.At(s.Hours, s.Pause, db.now()), AppPath: "/a/" + appCode + "/"}
}

// CreateOrg creates an organisation with default settings.
func (db *DB) CreateOrg(ctx context.Context, name string) (protocol.Org, error) {
	name = strings.TrimSpace(name)
	s := rules.DefaultSettings(name)
	if err := rules.ValidateSettings(s); err != nil {
		return protocol.Org{}, err
	}
	raw, _ := json.Marshal(s)
	var (
		id   int64
		code string
	)
	err := db.do(ctx, func(tx *wtx) ([]store.Change, error) {
		err := tx.QueryRow("INSERT INTO orgs(name, settings, created_at, app_code) VALUES (?,?::jsonb,?,?) RETURNING id, app_code",
			name, string(raw), ms(db.clock()), newAppCode()).Scan(&id, &code)
		if err != nil {
			return nil, fmt.Errorf("insert org: %w", err)
		}
		return nil, record(tx, db.clock(), store.Principal{}, id, protocol.AuditOrgCreated, 0, "", "")
	})
	if err != nil {
		return protocol.Org{}, err
	}
	return db.orgView(id, s, code), nil
}

// OrgCount reports how many organisations exist.
func (db *DB) OrgCount(ctx context.Context) (int, error) {
	var n int
	if err := db.read(ctx).QueryRow("SELECT COUNT(*) FROM orgs").Scan(&n); err != nil {
		return 0, fmt.Errorf("count orgs: %w", err)
	}
	return n, nil
}

func loadSettings(q querier, orgID int64) (protocol.Settings, error) {
	s, _, err := loadOrg(q, orgID)
	return s, err
}

// querier is a connection, transaction or write (q, *wtx) to read with.
type querier interface {
	Query(query string, args ...any) (pgx.Rows, error)
	QueryRow(query string, args ...any) pgx.Row
}

// loadOrg reads an organisation's settings and app code.
func loadOrg(q querier, orgID int64) (protocol.Settings, string, error) {
	s, _, code, err := loadOrgWhere(q, "id = ?", orgID)
	return s, code, err
}

// loadOrgWhere reads the organisation matching where (on orgs, with arg):
// its settings, ID and app code.
func loadOrgWhere(q querier, where string, arg any) (protocol.Settings, int64, string, error) {
	var (
		raw  []byte
		id   int64
		code string
	)
	err := q.QueryRow("SELECT settings::text, id, app_code FROM orgs WHERE "+where, arg).Scan(&raw, &id, &code)
	if errors.Is(err, pgx.ErrNoRows) {
		return protocol.Settings{}, 0, "", protocol.Errorf(protocol.CodeNotFound, "organisation not found")
	}
	if err != nil {
		return protocol.Settings{}, 0, "", fmt.Errorf("load settings: %w", err)
	}
	var s protocol.Settings
	if err := json.Unmarshal(raw, &s); err != nil {
		return protocol.Settings{}, 0, "", fmt.Errorf("decode settings of org %d: %w", id, err)
	}
	return s, id, code, nil
}

// Org returns an organisation with its availability now.
func (db *DB) Org(ctx context.Context, orgID int64) (protocol.Org, error) {
	s, code, err := loadOrg(db.read(ctx), orgID)
	if err != nil {
		return protocol.Org{}, err
	}
	org := db.orgView(orgID, s, code)
	if org.TypicalReplySeconds, err = db.replyTime(ctx, orgID); err != nil {
		return protocol.Org{}, err
	}
	return org, nil
}

// AppLook returns how the organisation with an app code wants its app to
// look on a home screen. It is public: it names no organisation.
func (db *DB) AppLook(ctx context.Context, code string) (protocol.AppLook, error) {
	s, _, _, err := loadOrgWhere(db.read(ctx), "app_code = ?", code)
	if err != nil {
		return protocol.AppLook{}, err
	}
	return protocol.AppLook{Name: s.AppName, Icon: s.AppIcon, ContactText: s.ContactText}, nil
}

// UpdateSettings applies patch to the admin's organisation.
func (db *DB) UpdateSettings(ctx context.Context, p store.Principal, patch protocol.SettingsPatch) (protocol.Org, error) {
	var out protocol.Org
	err := db.do(ctx, func(tx *wtx) ([]store.Change, error) {
		old, code, err := loadOrg(tx.q, p.OrgID)
		if err != nil {
			return nil, err
		}
		var watch *deskWatch
		if patch.MaxOpen != nil {
			// A new limit may offer the pool to counselors, or withdraw it.
			if watch, err = db.watchDesks(ctx, tx, p.OrgID); err != nil {
				return nil, err
			}
		}
		ch, err := rules.ApplySettings(p, old, patch)
		if err != nil {
			return nil, err
		}
		s := ch.Settings
		raw, _ := json.Marshal(s)
		if _, err := tx.Exec("UPDATE orgs SET settings = ?::jsonb WHERE id = ?", string(raw), p.OrgID); err != nil {
			return nil, fmt.Errorf("update settings: %w", err)
		}
		if err := record(tx, db.clock(), p, p.OrgID, protocol.AuditSettingsChanged, 0, "", ch.Changed); err != nil {
			return nil, err
		}
		if ch.Shortened {
			if err := db.shortenSealed(tx, p.OrgID, time.Duration(s.RetentionSeconds)*time.Second); err != nil {
				return nil, err
			}
		}
		if ch.ResetNotices {
			if _, err := tx.Exec("UPDATE conversations SET notice_until = NULL WHERE org_id = ?", p.OrgID); err != nil {
				return nil, fmt.Errorf("reset notices: %w", err)
			}
		}
		out = db.orgView(p.OrgID, s, code)
		org := out
		changes := []store.Change{{Kind: store.ChangeSettings, OrgID: p.OrgID, Org: &org}}
		if watch != nil {
			desks, err := watch.changes(ctx, tx)
			if err != nil {
				return nil, err
			}
			changes = append(changes, desks...)
		}
		return changes, nil
	})
	return out, err
}
