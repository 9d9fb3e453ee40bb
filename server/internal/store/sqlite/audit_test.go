package sqlite

import (
	"strings"
	"testing"
)

// The audit log is append-only in the database itself: a trigger refuses
// every change to an entry (what the log records is in the conformance
// suite).
func TestAuditLogIsAppendOnly(t *testing.T) {
	f := newFixture(t)
	f.Org(t, 1)
	if _, err := (writerSQL{f.db}).Exec("UPDATE audit_log SET action = 'nothing'"); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Fatalf("an audit entry was changed: %v", err)
	}
}
