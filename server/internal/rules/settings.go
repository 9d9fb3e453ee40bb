package rules

import (
	"encoding/json"
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
		Hours:            hours.Schedule{TimeZone: "Asia/Tokyo", Spans: []hours.Span{}}, // [] (always open), never null
		ClosedBehavior:   protocol.ClosedAccept,
	}
}

// ValidateSettings reports the first invalid setting.
func ValidateSettings(s protocol.Settings) error {
	if strings.TrimSpace(s.DisplayName) == "" || utf8.RuneCountInString(s.DisplayName) > 80 {
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
	if utf8.RuneCountInString(s.AppName) > protocol.MaxAppNameRunes || strings.ContainsFunc(s.AppName, unicode.IsControl) {
		return protocol.Errorf(protocol.CodeInvalid, "app name must be at most %d characters on one line", protocol.MaxAppNameRunes)
	}
	if d := s.DeleteAfterAccessDays; d < 0 || d > protocol.MaxDeleteAfterAccessDays {
		return protocol.Errorf(protocol.CodeInvalid, "automatic deletion must be 0 to %d days after access ends", protocol.MaxDeleteAfterAccessDays)
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
	if s.NominationLapseDays < 0 || s.NominationLapseDays > protocol.MaxNominationLapseDays {
		return protocol.Errorf(protocol.CodeInvalid, "nomination_lapse_days must be 0 (the default, %d) to %d", protocol.DefaultNominationLapseDays, protocol.MaxNominationLapseDays)
	}
	if s.NominationTimeoutHours < 0 || s.NominationTimeoutHours > protocol.MaxNominationTimeoutHours {
		return protocol.Errorf(protocol.CodeInvalid, "nomination_timeout_hours must be 0 (the default, %d) to %d", protocol.DefaultNominationTimeoutHours, protocol.MaxNominationTimeoutHours)
	}
	if s.UnansweredTimeoutHours < 0 || s.UnansweredTimeoutHours > protocol.MaxUnansweredTimeoutHours {
		return protocol.Errorf(protocol.CodeInvalid, "unanswered_timeout_hours must be 0 (the default, %d) to %d", protocol.DefaultUnansweredTimeoutHours, protocol.MaxUnansweredTimeoutHours)
	}
	if utf8.RuneCountInString(s.ApologyText) > protocol.MaxApologyRunes || strings.ContainsFunc(s.ApologyText, func(r rune) bool { return r != '\n' && unicode.IsControl(r) }) {
		return protocol.Errorf(protocol.CodeInvalid, "apology text must be at most %d characters, without control characters", protocol.MaxApologyRunes)
	}
	if len(s.CrisisPhrases) > MaxCrisisPhrases {
		return protocol.Errorf(protocol.CodeInvalid, "at most %d crisis phrases", MaxCrisisPhrases)
	}
	for _, p := range s.CrisisPhrases {
		if utf8.RuneCountInString(p) > MaxCrisisPhraseRunes || NormalizeForRisk(p) == "" {
			return protocol.Errorf(protocol.CodeInvalid, "each crisis phrase must be 1 to %d characters with at least one letter", MaxCrisisPhraseRunes)
		}
	}
	if s.AttachmentMaxBytes < 0 || s.AttachmentMaxBytes > protocol.MaxAttachmentBytes {
		return protocol.Errorf(protocol.CodeInvalid, "attachment_max_bytes must be 0 (the default, %d) to %d", protocol.DefaultAttachmentBytes, protocol.MaxAttachmentBytes)
	}
	if s.MaxOpen < 0 || s.MaxOpen > protocol.MaxMaxOpen {
		return protocol.Errorf(protocol.CodeInvalid, "max_open must be 0 (no limit) to %d", protocol.MaxMaxOpen)
	}
	if !slices.Contains(protocol.AppIcons, s.AppIcon) {
		return protocol.Errorf(protocol.CodeInvalid, "app icon must be one of %q", protocol.AppIcons)
	}
	return nil
}

// SettingsChange is what ApplySettings decides.
type SettingsChange struct {
	Settings protocol.Settings
	// Changed names the settings that differ, for the audit log (never
	// their values).
	Changed string
	// Shortened is set when the retention period got shorter: it applies
	// to what is already stored (retention.Shorten); a longer one extends
	// nothing.
	Shortened bool
	// ResetNotices: a new closed stretch deserves a new closed notice
	// (hours changed, or a pause ended).
	ResetNotices bool
}

// ApplySettings applies an admin's patch to the current settings.
func ApplySettings(actor store.Principal, old protocol.Settings, patch protocol.SettingsPatch) (SettingsChange, error) {
	if actor.Role != protocol.RoleAdmin {
		return SettingsChange{}, protocol.Errorf(protocol.CodeForbidden, "only admins change settings")
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
	if patch.DeleteAfterAccessDays != nil {
		s.DeleteAfterAccessDays = *patch.DeleteAfterAccessDays
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
	if patch.ClaimByButton != nil {
		s.ClaimByButton = *patch.ClaimByButton
	}
	if patch.AnnounceHandover != nil {
		s.AnnounceHandover = *patch.AnnounceHandover
	}
	if patch.MaxOpen != nil {
		s.MaxOpen = *patch.MaxOpen
	}
	if patch.AttachmentMaxBytes != nil {
		s.AttachmentMaxBytes = *patch.AttachmentMaxBytes
	}
	if patch.NominationLapseDays != nil {
		s.NominationLapseDays = *patch.NominationLapseDays
	}
	if patch.NominationTimeoutHours != nil {
		s.NominationTimeoutHours = *patch.NominationTimeoutHours
	}
	if patch.UnansweredTimeoutHours != nil {
		s.UnansweredTimeoutHours = *patch.UnansweredTimeoutHours
	}
	if patch.ApologyText != nil {
		s.ApologyText = clientText(*patch.ApologyText)
	}
	if patch.CrisisPhrases != nil {
		s.CrisisPhrases = nil
		for _, p := range *patch.CrisisPhrases {
			if p = strings.TrimSpace(p); p != "" && !slices.Contains(s.CrisisPhrases, p) {
				s.CrisisPhrases = append(s.CrisisPhrases, p)
			}
		}
	}
	if err := ValidateSettings(s); err != nil {
		return SettingsChange{}, err
	}
	return SettingsChange{
		Settings:     s,
		Changed:      changedSettings(old, s),
		Shortened:    s.RetentionSeconds < old.RetentionSeconds,
		ResetNotices: old.Pause.On && !s.Pause.On || patch.Hours != nil,
	}, nil
}

// clientText tidies a text shown to clients: one kind of line break, no
// space around it.
func clientText(s string) string {
	return strings.TrimSpace(strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n"))
}

// changedSettings names the settings that differ.
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
