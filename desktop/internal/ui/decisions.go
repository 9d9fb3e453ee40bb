package ui

import (
	"fmt"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// decideItems offers 決定 on a client's message (the row's right-click
// menu): the reply box gets a sentence quoting its number.
func (r *rowView) decideItems() []*fyne.MenuItem {
	if r.key.kind != rowClient || r.v.onDecide == nil {
		return nil
	}
	for _, row := range r.v.rows {
		if row.key == r.key {
			seq := row.msg.Seq
			return []*fyne.MenuItem{fyne.NewMenuItem(T("decide.menu", "Decided (#{{.N}})", map[string]any{"N": seq}), func() { r.v.onDecide(seq) })}
		}
	}
	return nil
}

// decideText is what a 決定 puts in the reply: the client reads it, in
// Japanese, with the number their app shows beside the message.
func decideText(seq int64) string {
	return fmt.Sprintf("#%d の内容で決定しました。", seq)
}

// decide puts the 決定 sentence into the reply box for a client's
// message and has the reply record the decision and set 完了 when sent.
func (m *Main) decide(seq int64) {
	f := m.in.Focused()
	if f == nil || m.compose.Disabled() {
		return
	}
	m.insertText(decideText(seq))
	x := m.staged
	x.Decides = seq
	if x.Progress != protocol.ProgressNextContact {
		x.Progress = protocol.ProgressDone
	}
	m.stage(x)
}

// decisionExcerptRunes is how much of a decided message the header shows.
const decisionExcerptRunes = 12

// decisionsText lists a conversation's decisions for the header:
// 決定：#12 (12/1)「Aの案でお願いします」. The server keeps numbers and
// times only; the words come from the messages this app still holds (a
// deleted one shows its number alone).
func decisionsText(ds []protocol.Decision, msgs []protocol.Message) string {
	if len(ds) == 0 {
		return ""
	}
	parts := make([]string, 0, len(ds))
	for _, d := range ds {
		part := "#" + strconv.FormatInt(d.Seq, 10) + " (" + d.At.Local().Format("1/2") + ")"
		for _, m := range msgs {
			if m.Seq == d.Seq && m.Body != "" {
				first, _, _ := strings.Cut(m.Body, "\n")
				if r := []rune(first); len(r) > decisionExcerptRunes {
					first = string(r[:decisionExcerptRunes]) + "…"
				}
				part += "「" + first + "」"
				break
			}
		}
		parts = append(parts, part)
	}
	return T("decide.list", "Decided: {{.List}}", map[string]any{"List": strings.Join(parts, ", ")})
}
