package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/taiwa-chat/taiwa/pkg/hours"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/pkg/retention"
	"github.com/taiwa-chat/taiwa/server/internal/store"
)

// DefaultSettings are a new organisation's: a week's retention, open around
// the clock in Japan's time zone, clients write first.
func DefaultSettings(name string) protocol.Settings {
	return protocol.Settings{
		DisplayName:      name,
		RetentionSeconds: int64(retention.DefaultPeriod / time.Second),
		Hours:            hours.Schedule{TimeZone: "Asia/Tokyo"},
		ClosedBehavior:   protocol.ClosedAccept,
	}
}

// ValidateSettings reports the first invalid setting.
func ValidateSettings(s protocol.Settings) error {
	if strings.TrimSpace(s.DisplayName) == "" || len([]rune(s.DisplayName)) > 80 {
		return protocol.Errorf(protocol.CodeInvalid, "display name must be 1 to 80 characters")
	}
	if err := retention.Validate(time.Duration(s.RetentionSeconds) * time.Second); err != nil {
		return protocol.Errorf(protocol.CodeInvalid, "%v", err)
	}
	if err := s.Hours.Validate(); err != nil {
		return protocol.Errorf(protocol.CodeInvalid, "business hours: %v", err)
	}
	if s.ClosedBehavior != protocol.ClosedAccept && s.ClosedBehavior != protocol.ClosedBlock {
		return protocol.Errorf(protocol.CodeInvalid, "closed_behavior must be %q or %q", protocol.ClosedAccept, protocol.ClosedBlock)
	}
	if len([]rune(s.AppName)) > protocol.MaxAppNameRunes || strings.ContainsFunc(s.AppName, unicode.IsControl) {
		return protocol.Errorf(protocol.CodeInvalid, "app name must be at most %d characters on one line", protocol.MaxAppNameRunes)
	}
	if d := s.AuditRetentionDays; d != 0 && (d < protocol.MinAuditRetentionDays || d > protocol.MaxAuditRetentionDays) {
		return protocol.Errorf(protocol.CodeInvalid, "audit retention must be %d to %d days", protocol.MinAuditRetentionDays, protocol.MaxAuditRetentionDays)
	}
	if s.CounselorMarginMinutes < 0 || s.CounselorMarginMinutes > protocol.MaxCounselorMarginMinutes {
		return protocol.Errorf(protocol.CodeInvalid, "access-hours margin must be 0 to %d minutes", protocol.MaxCounselorMarginMinutes)
	}
	for name, text := range map[string]string{"welcome text": s.WelcomeText, "contact text": s.ContactText} {
		if utf8.RuneCountInString(text) > protocol.MaxClientTextRunes || strings.ContainsFunc(text, func(r rune) bool { return r != '\n' && unicode.IsControl(r) }) {
			return protocol.Errorf(protocol.CodeInvalid, "%s must be at most %d characters, without control characters", name, protocol.MaxClientTextRunes)
		}
	}
	if !slices.Contains(protocol.AppIcons, s.AppIcon) {
		return protocol.Errorf(protocol.CodeInvalid, "app icon must be one of %q", protocol.AppIcons)
	}
	return nil
}

func (db *DB) orgView(id int64, s protocol.Settings, appCode string) protocol.Org {
	return protocol.Org{ID: id, Settings: s, Availability: hours.At(s.Hours, s.Pause, db.now()), AppPath: "/a/" + appCode + "/"}
}

// CreateOrg creates an organisation with default settings.
func (db *DB) CreateOrg(ctx context.Context, name string) (protocol.Org, error) {
	name = strings.TrimSpace(name)
	s := DefaultSettings(name)
	if err := ValidateSettings(s); err != nil {
		return protocol.Org{}, err
	}
	raw, _ := json.Marshal(s)
	var (
		id   int64
		code string
	)
	err := db.do(ctx, false, func(tx *sql.Tx) ([]store.Change, error) {
		err := tx.QueryRow("INSERT INTO orgs(name, settings, created_at, app_code) VALUES (?,?,?, lower(hex(randomblob(8)))) RETURNING id, app_code",
			name, raw, ms(db.clock())).Scan(&id, &code)
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
	if err := db.read.QueryRowContext(ctx, "SELECT COUNT(*) FROM orgs").Scan(&n); err != nil {
		return 0, fmt.Errorf("count orgs: %w", err)
	}
	return n, nil
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func loadSettings(ctx context.Context, q querier, orgID int64) (protocol.Settings, error) {
	s, _, err := loadOrg(ctx, q, orgID)
	return s, err
}

// loadOrg reads an organisation's settings and app code.
func loadOrg(ctx context.Context, q querier, orgID int64) (protocol.Settings, string, error) {
	s, _, code, err := loadOrgWhere(ctx, q, "id = ?", orgID)
	return s, code, err
}

// loadOrgWhere reads the organisation matching where (on orgs, with arg):
// its settings, ID and app code.
func loadOrgWhere(ctx context.Context, q querier, where string, arg any) (protocol.Settings, int64, string, error) {
	var (
		raw  []byte
		id   int64
		code string
	)
	err := q.QueryRowContext(ctx, "SELECT settings, id, app_code FROM orgs WHERE "+where, arg).Scan(&raw, &id, &code)
	if errors.Is(err, sql.ErrNoRows) {
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
	s, code, err := loadOrg(ctx, db.read, orgID)
	if err != nil {
		return protocol.Org{}, err
	}
	return db.orgView(orgID, s, code), nil
}

// AppLook returns how the organisation with an app code wants its app to
// look on a home screen. It is public: it names no organisation.
func (db *DB) AppLook(ctx context.Context, code string) (protocol.AppLook, error) {
	s, _, _, err := loadOrgWhere(ctx, db.read, "app_code = ?", code)
	if err != nil {
		return protocol.AppLook{}, err
	}
	return protocol.AppLook{Name: s.AppName, Icon: s.AppIcon, ContactText: s.ContactText}, nil
}

// UpdateSettings applies patch to the admin's organisation.
func (db *DB) UpdateSettings(ctx context.Context, p store.Principal, patch protocol.SettingsPatch) (protocol.Org, error) {
	if p.Role != protocol.RoleAdmin {
		return protocol.Org{}, protocol.Errorf(protocol.CodeForbidden, "only admins change settings")
	}
	var out protocol.Org
	err := db.do(ctx, false, func(tx *sql.Tx) ([]store.Change, error) {
		old, code, err := loadOrg(ctx, tx, p.OrgID)
		if err != nil {
			return nil, err
		}
		s := old
		if patch.DisplayName != nil {
			s.DisplayName = strings.TrimSpace(*patch.DisplayName)
		}
		if patch.RetentionSeconds != nil {
			s.RetentionSeconds = *patch.RetentionSeconds
		}
		if patch.Hours != nil {
			s.Hours = *patch.Hours
		}
		if patch.Pause != nil {
			s.Pause = *patch.Pause
		}
		if patch.ClosedBehavior != nil {
			s.ClosedBehavior = *patch.ClosedBehavior
		}
		if patch.StaffMayWriteFirst != nil {
			s.StaffMayWriteFirst = *patch.StaffMayWriteFirst
		}
		if patch.AppName != nil {
			s.AppName = strings.TrimSpace(*patch.AppName)
		}
		if patch.AppIcon != nil {
			s.AppIcon = *patch.AppIcon
		}
		if patch.AuditRetentionDays != nil {
			s.AuditRetentionDays = *patch.AuditRetentionDays
		}
		if patch.CounselorHoursOnly != nil {
			s.CounselorHoursOnly = *patch.CounselorHoursOnly
		}
		if patch.CounselorMarginMinutes != nil {
			s.CounselorMarginMinutes = *patch.CounselorMarginMinutes
		}
		if patch.WelcomeText != nil {
			s.WelcomeText = clientText(*patch.WelcomeText)
		}
		if patch.ContactText != nil {
			s.ContactText = clientText(*patch.ContactText)
		}
		if patch.ShowOrgName != nil {
			s.ShowOrgName = *patch.ShowOrgName
		}
		if err := ValidateSettings(s); err != nil {
			return nil, err
		}
		raw, _ := json.Marshal(s)
		if _, err := tx.Exec("UPDATE orgs SET settings = ? WHERE id = ?", raw, p.OrgID); err != nil {
			return nil, fmt.Errorf("update settings: %w", err)
		}
		if err := record(tx, db.clock(), p, p.OrgID, protocol.AuditSettingsChanged, 0, "", changedSettings(old, s)); err != nil {
			return nil, err
		}
		if s.RetentionSeconds < old.RetentionSeconds {
			// A shorter period applies to what is already stored
			// (retention.Shorten); a longer one extends nothing.
			if err := db.shortenSealed(tx, p.OrgID, time.Duration(s.RetentionSeconds)*time.Second); err != nil {
				return nil, err
			}
		}
		if old.Pause.On && !s.Pause.On || patch.Hours != nil {
			// A new closed stretch deserves a new notice.
			if _, err := tx.Exec("UPDATE conversations SET notice_until = NULL WHERE org_id = ?", p.OrgID); err != nil {
				return nil, fmt.Errorf("reset notices: %w", err)
			}
		}
		out = db.orgView(p.OrgID, s, code)
		org := out
		return []store.Change{{Kind: store.ChangeSettings, OrgID: p.OrgID, Org: &org}}, nil
	})
	return out, err
}

// clientText trims a text shown to clients and keeps its line breaks as
// "\n" (a desktop on Windows sends "\r\n").
func clientText(s string) string {
	return strings.TrimSpace(strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n"))
}

// changedSettings names the settings that differ (the audit log's detail:
// which settings, not their values).
func changedSettings(old, s protocol.Settings) string {
	// Settings marshal and unmarshal without fail: plain fields only.
	var a, b map[string]any
	ra, _ := json.Marshal(old)
	rb, _ := json.Marshal(s)
	json.Unmarshal(ra, &a)
	json.Unmarshal(rb, &b)
	var names []string
	for k := range a {
		if _, ok := b[k]; !ok {
			names = append(names, k)
		}
	}
	for k, v := range b {
		if w, ok := a[k]; !ok || !reflect.DeepEqual(v, w) {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	return strings.Join(names, ",")
}
