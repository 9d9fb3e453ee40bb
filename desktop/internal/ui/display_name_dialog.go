package ui

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// MeUpdater is what the profile dialog needs of the server.
type MeUpdater interface {
	UpdateMe(ctx context.Context, patch protocol.MePatch) (protocol.Account, error)
}

// profileDialog is a staff member's profile as clients see it: the name
// above their replies, and for nomination (指名) an introduction and the
// switch 指名を受け付ける.
type profileDialog struct {
	name   *Field
	intro  *widget.Entry
	accept *widget.Check
}

// ShowDisplayName lets a staff member choose the name clients see above
// their replies (empty: none), their introduction and whether clients may
// nominate them. do brings the answer back to the UI goroutine; done hears
// the account as changed.
func ShowDisplayName(win fyne.Window, api MeUpdater, me protocol.Account, do func(func()), done func(protocol.Account)) {
	p := &profileDialog{name: NewField(false), intro: widget.NewMultiLineEntry(),
		accept: widget.NewCheck(T("me.acceptNominations", "Clients may nominate me (指名を受け付ける)"), nil)}
	p.name.SetText(me.DisplayName)
	p.name.SetPlaceHolder(T("me.displayNameHint", "e.g. たなか (empty: none)"))
	p.intro.SetText(me.Intro)
	p.intro.SetPlaceHolder(T("me.introHint", "A few words for clients choosing whom to ask (no personal details)"))
	p.intro.SetMinRowsVisible(3)
	p.intro.Wrapping = fyne.TextWrapWord
	p.accept.SetChecked(me.AcceptNominations)
	hint := newJALabel(T("me.displayNameWhy", "Clients see this name above your replies. It need not be your real name; colleagues still see your usual name."))
	hint.Importance = widget.LowImportance
	lapse := newJALabel(T("me.nominationWhy", "Nominations stop by themselves when you have not used Taiwa for a few days, so that no client waits for someone who is not there."))
	lapse.Importance = widget.LowImportance
	title := T("me.displayName", "Profile for clients")
	failed := T("me.displayNameFailed", "The name was not changed")
	items := []*widget.FormItem{widget.NewFormItem(T("me.displayNameField", "Name"), p.name), widget.NewFormItem("", hint),
		widget.NewFormItem(T("me.intro", "Introduction"), p.intro), widget.NewFormItem("", p.accept), widget.NewFormItem("", lapse)}
	Form(win, title, T("me.save", "Save"), items, func() {
		patch, msg := p.patch()
		if msg != "" {
			Inform(win, failed, msg)
			return
		}
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			a, err := api.UpdateMe(ctx, patch)
			do(func() {
				if err != nil {
					ShowError(win, failed, err)
					return
				}
				if done != nil {
					done(a)
				}
			})
		}()
	})
}

// patch is what the dialog asks the server to change, or why it cannot.
func (p *profileDialog) patch() (protocol.MePatch, string) {
	name, intro, accept := strings.TrimSpace(p.name.Text), strings.TrimSpace(p.intro.Text), p.accept.Checked
	switch {
	case utf8.RuneCountInString(name) > protocol.MaxDisplayNameRunes:
		return protocol.MePatch{}, T("me.displayNameLong", "Use at most {{.Max}} characters.", map[string]any{"Max": protocol.MaxDisplayNameRunes})
	case utf8.RuneCountInString(intro) > protocol.MaxIntroRunes:
		return protocol.MePatch{}, T("me.introLong", "Keep the introduction to {{.Max}} characters.", map[string]any{"Max": protocol.MaxIntroRunes})
	case accept && name == "":
		return protocol.MePatch{}, T("me.nominationNeedsName", "Clients nominate you by the name they see: choose one first.")
	}
	return protocol.MePatch{DisplayName: &name, Intro: &intro, AcceptNominations: &accept}, ""
}
