// Package storetest is the store conformance suite: one set of tests,
// written against store.Store alone, that every implementation must pass
// (as database/sql drivers share a compliance suite). Each implementation's
// own tests call Run with a function that opens a fresh, empty store; what
// only one implementation can show (its files, its query plans) stays in
// its own tests, which can build on Fixture.
//
// The rules themselves are tested once, in package rules; here they are
// tested as stored: visibility, sequence numbers, idempotency, retention,
// deletion, receipts, sessions, audit, and check-then-act under
// concurrency.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/store"
)

// Opener opens a fresh, empty store that reads the time from now and
// hands every committed batch of changes to publish.
type Opener func(t testing.TB, now func() time.Time, publish func([]store.Change)) store.Store

// Clock is a settable test clock.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock makes a clock showing t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now is the clock's time.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// Add moves the clock.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Fixture is a store under test with its clock and what it published.
type Fixture struct {
	Store store.Store
	Clock *Clock

	mu      sync.Mutex
	changes []store.Change
	logins  int
}

// NewFixture opens a store with a clock at Monday 2026-11-23 12:00 in
// Tokyo.
func NewFixture(t testing.TB, open Opener) *Fixture {
	t.Helper()
	f := &Fixture{Clock: NewClock(time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC))}
	f.Store = open(t, f.Clock.Now, func(c []store.Change) {
		f.mu.Lock()
		f.changes = append(f.changes, c...)
		f.mu.Unlock()
	})
	return f
}

// Published returns the changes of one kind published so far.
func (f *Fixture) Published(kind store.ChangeKind) []store.Change {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []store.Change
	for _, c := range f.changes {
		if c.Kind == kind {
			out = append(out, c)
		}
	}
	return out
}

// Org is an organisation with an admin, a counselor and clients.
type Org struct {
	ID      int64
	Admin   store.Principal
	Staff   store.Principal
	Clients []store.Principal
}

// Org makes an organisation with an admin, a counselor and n clients.
func (f *Fixture) Org(t testing.TB, n int) Org {
	t.Helper()
	o, err := f.Store.CreateOrg(context.Background(), "相談室")
	if err != nil {
		t.Fatal(err)
	}
	out := Org{ID: o.ID, Admin: f.Account(t, o.ID, protocol.RoleAdmin), Staff: f.Account(t, o.ID, protocol.RoleCounselor)}
	for range n {
		out.Clients = append(out.Clients, f.Account(t, o.ID, protocol.RoleClient))
	}
	return out
}

// Account creates an account of role in an organisation, as the operator.
func (f *Fixture) Account(t testing.TB, orgID int64, role protocol.Role) store.Principal {
	t.Helper()
	f.mu.Lock()
	f.logins++
	n := f.logins
	f.mu.Unlock()
	a, err := f.Store.CreateAccount(context.Background(), store.Principal{}, store.NewAccount{OrgID: orgID, Role: role,
		LoginID: fmt.Sprintf("login-%d", n), Nickname: fmt.Sprintf("%s %d", role, n), PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	return store.Principal{AccountID: a.ID, OrgID: orgID, Role: role}
}

// Send stores a message or fails the test.
func (f *Fixture) Send(t testing.TB, p store.Principal, conv int64, ref, body string) protocol.Message {
	t.Helper()
	m, _, err := f.Store.Send(context.Background(), p, store.SendRequest{Ref: ref, ConversationID: conv, Body: body})
	if err != nil {
		t.Fatalf("send %q: %v", ref, err)
	}
	return m
}

// Conversation is a client's one conversation.
func (f *Fixture) Conversation(t testing.TB, client store.Principal) protocol.Conversation {
	t.Helper()
	return ClientConversation(t, f.Store, client)
}

// ClientConversation is a client's one conversation in st.
func ClientConversation(t testing.TB, st store.Store, client store.Principal) protocol.Conversation {
	t.Helper()
	cs, err := st.Conversations(context.Background(), client)
	if err != nil || len(cs) != 1 {
		t.Fatalf("conversations of %d: %v %v", client.AccountID, cs, err)
	}
	return cs[0]
}

// Code is an error's protocol code ("" for nil).
func Code(err error) protocol.Code {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		return pe.Code
	}
	if err != nil {
		return protocol.CodeInternal
	}
	return ""
}

// Run runs the whole suite against stores from open.
func Run(t *testing.T, open Opener) {
	for _, tc := range []struct {
		name string
		test func(*testing.T, Opener)
	}{
		{"ConversationFlow", testConversationFlow},
		{"Isolation", testIsolation},
		{"ClosedHours", testClosedHours},
		{"Retention", testRetention},
		{"ShorterRetention", testShorterRetention},
		{"DeleteClient", testDeleteClient},
		{"IDsNeverReused", testIDsNeverReused},
		{"Sessions", testSessions},
		{"Receipts", testReceipts},
		{"Audit", testAudit},
		{"AuditRetention", testAuditRetention},
		{"ConcurrentSendsKeepSequence", testConcurrentSends},
		{"ConcurrentClaimsOneWinner", testConcurrentClaims},
		{"Pool", testPool},
		{"ClaimByButton", testClaimByButton},
		{"NotesAndHandover", testNotesAndHandover},
		{"PresenceAndCapacity", testPresenceAndCapacity},
		{"Nomination", testNomination},
		{"NoClientLeftUnanswered", testUnanswered},
		{"RiskFirst", testRiskFirst},
		{"ConcurrentAdminDeletesLeaveOne", testConcurrentAdminDeletes},
		{"SubscribeSnapshot", testSubscribe},
		{"Progress", testProgress},
		{"Templates", testTemplates},
		{"ConcurrentTemplateLimit", testConcurrentTemplateLimit},
		{"Decisions", testDecisions},
		{"ClientNotes", testClientNotes},
		{"ConcurrentNoteEditsOneWins", testConcurrentNoteEdits},
		{"GroupsAndRegistrars", testGroups},
		{"Announcements", testAnnouncements},
		{"APIKeysAndIdempotency", testAPIKeys},
		{"AutoDeleteAfterAccess", testAutoDelete},
		{"UsageByGroup", testUsage},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.test(t, open) })
	}
	for _, tc := range extraTests {
		t.Run(tc.name, func(t *testing.T) { tc.test(t, open) })
	}
}

// namedTest is a conformance test kept in a file of its own feature.
type namedTest struct {
	name string
	test func(*testing.T, Opener)
}

// extraTests are the features' tests registered by their files (so that
// branches adding tests do not all edit the list above).
var extraTests []namedTest
