package inbox

import (
	"time"

	"fmt"
	"testing"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

func withProgress(c protocol.Conversation, p protocol.Progress, next string) protocol.Conversation {
	c.Progress, c.NextContact = p, next
	return c
}

// The list puts overdue next contacts first, earliest first, then those
// due today, then the waiting ones; filters pick by progress and marker.
// t0 is 2026-11-23 12:00 in Tokyo (the default organisation's zone is
// UTC here: the welcome carries no settings, and 03:00 UTC is the 23rd
// too).
func TestProgressOrderAndFilters(t *testing.T) {
	in, _ := setup(t,
		withProgress(conv(1, "完了"), protocol.ProgressDone, ""),
		withProgress(conv(2, "来月"), protocol.ProgressNextContact, "2026-12-03"),
		withProgress(conv(3, "昨日"), protocol.ProgressNextContact, "2026-11-22"),
		withProgress(conv(4, "今日"), protocol.ProgressNextContact, "2026-11-23"),
		withProgress(conv(5, "先週"), protocol.ProgressNextContact, "2026-11-16"),
		withProgress(conv(6, "待っている"), protocol.ProgressAwaiting, ""),
		conv(7, "古い"), // cached before progress existed: new
	)
	waiting(in, 6, t0.Add(-time.Hour))
	in.Apply(clientMsg(6, 1, "こんにちは"))
	names := func(list []*Conv) string {
		var out []string
		for _, c := range list {
			out = append(out, c.Nickname)
		}
		return fmt.Sprint(out)
	}
	if got := names(in.List(ViewAll, FilterAll, "")); got[:len("[先週 昨日 今日 待っている")] != "[先週 昨日 今日 待っている" {
		t.Fatalf("order: %s", got)
	}
	tests := []struct {
		f    Filter
		want string
	}{
		{FilterDue, "[先週 昨日 今日]"},
		{FilterNextContact, "[先週 昨日 今日 来月]"},
		{FilterDone, "[完了]"},
		{FilterNew, "[古い]"},
		{FilterAwaiting, "[待っている]"},
		{FilterUnread, "[待っている]"},
		{FilterUnable, "[]"},
	}
	for _, tt := range tests {
		if got := names(in.List(ViewAll, tt.f, "")); got != tt.want {
			t.Errorf("filter %d: %s, want %s", tt.f, got, tt.want)
		}
	}
	if o, d := in.DueCounts(); o != 2 || d != 1 {
		t.Errorf("due counts %d overdue, %d today; want 2, 1", o, d)
	}
	// A progress change arrives live and moves the row.
	c := in.Conv(2).Conversation
	c.NextContact = "2026-11-20"
	in.Apply(&protocol.ConversationFrame{Conversation: c})
	if got := names(in.List(ViewAll, FilterDue, "")); got != "[先週 来月 昨日 今日]" {
		t.Errorf("after the change: %s", got)
	}
}
