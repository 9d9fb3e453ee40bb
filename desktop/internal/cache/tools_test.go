package cache

import (
	"testing"

	"github.com/taiwa-chat/taiwa/pkg/client"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// A reply that sets a next-contact date keeps the date and its template
// across a restart: written offline, it still sets them when it goes out.
func TestOutboxKeepsWhatAReplySets(t *testing.T) {
	dir := t.TempDir()
	c := openTest(t, dir, nil)
	want := client.PendingMessage{Ref: "r1", ConversationID: 3, Body: "12月3日（木）にご連絡します。",
		Progress: protocol.ProgressNextContact, NextContact: "2026-12-03", TemplateID: 9}
	if err := c.AddPending(want); err != nil {
		t.Fatal(err)
	}
	c.Close()
	c = openTest(t, dir, nil)
	if p, err := c.Pending(); err != nil || len(p) != 1 || p[0] != want {
		t.Fatalf("outbox after a restart = %+v, %v", p, err)
	}
}
