package sqlite

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/store"
)

func TestAuditLogRecordsEveryAdminAction(t *testing.T) {
	f := newFixture(t)
	o := f.org(t, 1) // records: org created, admin, counselor and client created
	ctx := context.Background()
	cl := o.clients[0]
	conv := send(t, f.db, cl, 0, "a", "秘密の相談内容").ConversationID
	note := "ノートの中身"
	if _, err := f.db.UpdateClient(ctx, o.admin, cl.AccountID, protocol.UpdateClientRequest{Note: &note}); err != nil {
		t.Fatal(err)
	}
	if err := f.db.SetPassword(ctx, o.admin, cl.AccountID, "new-hash"); err != nil {
		t.Fatal(err)
	}
	if err := f.db.RevokeAccountSessions(ctx, o.admin, o.staff.AccountID, "forced"); err != nil {
		t.Fatal(err)
	}
	if err := f.db.RevokeAccountSessions(ctx, o.staff, o.staff.AccountID, "own"); err != nil {
		t.Fatal(err) // signing oneself out everywhere is not an admin action
	}
	days := 90
	if _, err := f.db.UpdateSettings(ctx, o.admin, protocol.SettingsPatch{AuditRetentionDays: &days}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Supervise(ctx, o.admin, conv, 0, 10); err != nil {
		t.Fatal(err)
	}
	if err := f.db.DeleteAccount(ctx, o.admin, cl.AccountID); err != nil {
		t.Fatal(err)
	}

	page, err := f.db.AuditLog(ctx, o.admin, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := len(page.Entries) - 1; i >= 0; i-- {
		e := page.Entries[i]
		got = append(got, e.ActorRole+" "+string(e.Action)+" "+string(e.TargetRole)+" "+e.Detail)
	}
	want := []string{
		"operator org_created  ",
		"operator account_created admin admin", // the fixture creates accounts as the operator
		"operator account_created counselor counselor",
		"operator account_created client client",
		"admin client_updated client note",
		"admin password_reset client ",
		"admin forced_logout counselor ",
		"admin settings_changed  audit_retention_days",
		"admin supervisor_view client ",
		"admin account_deleted client client",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("audit log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Who, what, when: never the words, the note or a client's nickname.
	raw, _ := json.Marshal(page)
	for _, secret := range []string{"秘密の相談内容", note, "client "} {
		if strings.Contains(string(raw), secret) {
			t.Errorf("audit log holds %q", secret)
		}
	}
	if page.Entries[0].ActorName == "" || page.Entries[0].ActorID == nil || *page.Entries[0].ActorID != o.admin.AccountID {
		t.Errorf("actor not named: %+v", page.Entries[0])
	}

	// Append-only, and for admins only.
	if _, err := f.db.write.Exec("UPDATE audit_log SET action = 'nothing'"); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Fatalf("audit entry changed: %v", err)
	}
	if _, err := f.db.AuditLog(ctx, o.staff, 0, 10); code(err) != protocol.CodeForbidden {
		t.Fatalf("counselor read the audit log: %v", err)
	}
	if _, err := f.db.Supervise(ctx, o.staff, conv, 0, 10); code(err) != protocol.CodeForbidden {
		t.Fatalf("counselor supervised: %v", err)
	}
	// Paging.
	first, _ := f.db.AuditLog(ctx, o.admin, 0, 4)
	rest, _ := f.db.AuditLog(ctx, o.admin, first.Entries[3].ID, 100)
	if !first.More || rest.More || len(first.Entries)+len(rest.Entries) != len(want) {
		t.Fatalf("pages: %d (more %v) + %d (more %v)", len(first.Entries), first.More, len(rest.Entries), rest.More)
	}
}

func TestAuditRetention(t *testing.T) {
	f := newFixture(t)
	a, b := f.org(t, 0), f.org(t, 0)
	ctx := context.Background()
	days := 30
	if _, err := f.db.UpdateSettings(ctx, a.admin, protocol.SettingsPatch{AuditRetentionDays: &days}); err != nil {
		t.Fatal(err)
	}
	count := func(p store.Principal) int {
		t.Helper()
		page, err := f.db.AuditLog(ctx, p, 0, 500)
		if err != nil {
			t.Fatal(err)
		}
		return len(page.Entries)
	}
	before := count(b.admin)
	f.clock.Add(31 * 24 * time.Hour)
	res, err := f.db.Sweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// A keeps 30 days: all gone. B keeps the default year: all kept.
	if count(a.admin) != 0 || count(b.admin) != before || res.AuditEntries == 0 {
		t.Fatalf("after 31 days: A %d, B %d (of %d), swept %d", count(a.admin), count(b.admin), before, res.AuditEntries)
	}
	for _, bad := range []int{1, 29, protocol.MaxAuditRetentionDays + 1, -1} {
		if _, err := f.db.UpdateSettings(ctx, a.admin, protocol.SettingsPatch{AuditRetentionDays: &bad}); code(err) != protocol.CodeInvalid {
			t.Errorf("audit retention %d accepted: %v", bad, err)
		}
	}
}
