package ui

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/taiwa-chat/taiwa/pkg/hours"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// orgTab holds the organisation's settings. Pausing is a switch that acts
// at once (a counselor who must stop now should not hunt for a Save
// button); everything else is a form saved together.
type orgTab struct {
	env *adminEnv

	pause      *widget.Check
	pauseState *widget.Label
	settling   bool // the form is being filled from the server

	zone       *widget.Entry
	days       [7]*widget.Check
	starts     [7]*widget.Entry
	ends       [7]*widget.Entry
	closed     *widget.RadioGroup
	retention  *widget.Entry
	writeFirst *widget.Check
	// Several counselors: how a conversation is taken from the pool.
	claimBy  *widget.RadioGroup
	announce *widget.Check
	maxOpen  *widget.Entry
	fileMB   *widget.Entry // the largest attachment, in MB (issue 14)
	// Nomination (指名): the switch's lapse and a nomination's timeout.
	nomLapse   *widget.Entry
	nomTimeout *widget.Entry
	// No client left without an answer: the timeout, the apology, and how
	// many ended as 対応できず in recent weeks.
	unansweredHours *widget.Entry
	apology         *widget.Entry
	unanswered      *jaLabel
	crisis          *widget.Entry // the organisation's own crisis phrases, one a line
	orgName         *widget.Entry
	showName        *widget.Check
	welcome         *widget.Entry
	contact         *widget.Entry
	appName         *widget.Entry
	appIcon         *widget.Select
	appLink         *widget.Label
	hoursOnly       *widget.Check
	margin          *widget.Entry
	auditDays       *widget.Entry
	deleteDays      *widget.Entry // issue 16: automatic deletion after access ends
	content         fyne.CanvasObject
}

// Default business hours filled in when a day is ticked.
const (
	defaultStart = "09:00"
	defaultEnd   = "17:00"
)

func newOrgTab(env *adminEnv) *orgTab {
	t := &orgTab{env: env}
	t.pause = widget.NewCheck(T("admin.pause", "Pause the service now (takes effect at once)"), t.setPause)
	t.pauseState = widget.NewLabel("")
	t.pauseState.Importance = widget.LowImportance
	t.zone = widget.NewEntry()
	t.closed = widget.NewRadioGroup([]string{T("admin.closedAccept", "Accept messages and send an automatic notice"), T("admin.closedBlock", "Do not accept messages")}, nil)
	t.retention = widget.NewEntry()
	t.writeFirst = widget.NewCheck(T("admin.writeFirst", "Staff may write first"), nil)
	t.claimBy = widget.NewRadioGroup([]string{T("admin.claimByReply", "A first reply also takes the conversation"),
		T("admin.claimByButton", "Only the Take it button takes a conversation")}, nil)
	t.announce = widget.NewCheck(T("admin.announceHandover", "Tell the client when another staff member takes over (「担当者が変わりました」)"), nil)
	t.maxOpen = widget.NewEntry()
	t.fileMB = widget.NewEntry()
	t.nomLapse = widget.NewEntry()
	t.nomTimeout = widget.NewEntry()
	t.unansweredHours = widget.NewEntry()
	t.apology = widget.NewMultiLineEntry()
	t.apology.Wrapping = fyne.TextWrapWord
	t.apology.SetMinRowsVisible(4)
	t.apology.SetPlaceHolder(T("admin.apologyHint", "e.g. We are sorry we could not answer. Phone line: 0120-…, weekdays 10–16; the public board: https://…"))
	t.unanswered = newJALabel("")
	t.crisis = widget.NewMultiLineEntry()
	t.crisis.SetMinRowsVisible(3)
	t.hoursOnly = widget.NewCheck(T("admin.hoursOnly", "Counselors see client data only around business hours"), nil)
	t.margin = widget.NewEntry()
	t.auditDays = widget.NewEntry()
	t.deleteDays = widget.NewEntry()
	t.deleteDays.SetPlaceHolder(T("admin.deleteDaysHint", "0: never"))
	dayNames := []string{T("day.sun", "Sun"), T("day.mon", "Mon"), T("day.tue", "Tue"), T("day.wed", "Wed"), T("day.thu", "Thu"), T("day.fri", "Fri"), T("day.sat", "Sat")}
	grid := container.NewGridWithColumns(3, boldLabel(T("admin.day", "Day")), boldLabel(T("admin.opens", "Opens")), boldLabel(T("admin.closes", "Closes")))
	for d := 0; d < 7; d++ {
		t.starts[d] = widget.NewEntry()
		t.ends[d] = widget.NewEntry()
		t.starts[d].Disable()
		t.ends[d].Disable()
		t.days[d] = widget.NewCheck(dayNames[d], func(on bool) { t.dayTicked(d, on) })
		grid.Add(t.days[d])
		grid.Add(t.starts[d])
		grid.Add(t.ends[d])
	}
	t.orgName = widget.NewEntry()
	t.showName = widget.NewCheck(T("admin.showOrgName", "Show the organisation's name in clients' app"), nil)
	t.welcome = widget.NewMultiLineEntry()
	t.welcome.Wrapping = fyne.TextWrapWord
	t.welcome.SetMinRowsVisible(3)
	t.contact = widget.NewMultiLineEntry()
	t.contact.Wrapping = fyne.TextWrapWord
	t.contact.SetMinRowsVisible(2)
	textsHint := newJALabel(T("admin.textsHint", "The welcome greets clients on the app's first screen. The contact text tells them whom to ask about a lost slip or a locked login; it appears on the sign-in page and in the guide printed with each client's slip, so name the organisation there only if it may be named on a phone others see."))
	textsHint.Importance = widget.LowImportance
	t.appName = widget.NewEntry()
	t.appIcon = widget.NewSelect(appIconLabels(), nil)
	t.appLink = widget.NewLabel("")
	t.appLink.Selectable = true
	t.appLink.Wrapping = fyne.TextWrapBreak
	appHint := newJALabel(T("admin.appHint", "For clients whose phone others may see: the app shows this name and icon on the home screen and in its header. Clients install it from the address below (it is printed on their sign-in slips). An empty name means the organisation's name."))
	appHint.Importance = widget.LowImportance
	save := widget.NewButton(T("admin.save", "Save settings"), t.Save)
	save.Importance = widget.HighImportance
	hint := widget.NewLabel(T("admin.hoursHint", "Tick the days you are open. No day ticked means open around the clock."))
	hint.Importance = widget.LowImportance
	form := widget.NewForm(
		widget.NewFormItem(T("admin.timeZone", "Time zone"), t.zone),
		widget.NewFormItem(T("admin.retention", "Keep messages (days)"), t.retention),
		widget.NewFormItem(T("admin.whenClosed", "When closed"), t.closed),
		widget.NewFormItem(T("admin.margin", "Margin around business hours (minutes)"), t.margin),
		widget.NewFormItem(T("admin.auditDays", "Keep the audit log (days)"), t.auditDays),
		widget.NewFormItem(T("admin.deleteDays", "Delete clients this many days after their access ends"), t.deleteDays),
	)
	appForm := widget.NewForm(
		widget.NewFormItem(T("admin.orgName", "Organisation's name"), t.orgName),
		widget.NewFormItem("", t.showName),
		widget.NewFormItem(T("admin.appName", "App name"), t.appName),
		widget.NewFormItem(T("admin.appIcon", "App icon"), t.appIcon),
		widget.NewFormItem(T("admin.welcome", "Welcome"), t.welcome),
		widget.NewFormItem(T("admin.contact", "Whom to ask"), t.contact),
		widget.NewFormItem("", textsHint),
		widget.NewFormItem(T("admin.appLink", "Clients open"), t.appLink),
	)
	pauseBox := container.NewVBox(widget.NewLabelWithStyle(T("admin.pauseTitle", "Taking messages"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		t.pause, t.pauseState)
	t.content = container.NewBorder(container.NewVBox(pauseBox, widget.NewSeparator()), container.NewHBox(save), nil, nil,
		container.NewVScroll(container.NewVBox(
			widget.NewLabelWithStyle(T("admin.hours", "Business hours"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
			hint, grid, t.hoursOnly, form, t.writeFirst, widget.NewSeparator(),
			widget.NewLabelWithStyle(T("admin.team", "Taking conversations"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
			t.teamHint(), t.claimBy, t.announce,
			widget.NewForm(widget.NewFormItem(T("admin.maxOpen", "Most conversations per counselor (0: no limit)"), t.maxOpen),
				widget.NewFormItem(T("admin.fileMB", "Largest photo or PDF (MB, 1 to 1024)"), t.fileMB),
				widget.NewFormItem(T("admin.nominationLapse", "Nominations switch off after this many days without use (0: 3)"), t.nomLapse),
				widget.NewFormItem(T("admin.nominationTimeout", "A nomination not taken returns to the pool after (hours; 0: 24)"), t.nomTimeout),
				widget.NewFormItem(T("admin.unansweredHours", "Nobody takes it in (hours; 0: 72): apologise and end as 対応できず"), t.unansweredHours),
				widget.NewFormItem(T("admin.apology", "Apology with alternatives"), t.apology),
				widget.NewFormItem(T("admin.crisis", "Crisis phrases of our own (one a line; the default set always applies)"), t.crisis)),
			t.unanswered,
			widget.NewSeparator(),
			widget.NewLabelWithStyle(T("admin.app", "Client app"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
			appHint, appForm)))
	return t
}

// teamHint explains the pool.
// loadUnanswered shows how many conversations ended as 対応できず this week
// and in the seven before: the figure that says whether the office needs
// more hands.
func (t *orgTab) loadUnanswered() {
	var weeks []protocol.UnansweredWeek
	t.env.call(T("admin.loadFailed", "Could not load"), func(ctx context.Context) error {
		var err error
		weeks, err = t.env.api.UnansweredWeeks(ctx, 8)
		return err
	}, func() { t.unanswered.SetText(unansweredText(weeks)) })
}

// unansweredText words the weekly counts, newest first.
func unansweredText(weeks []protocol.UnansweredWeek) string {
	if len(weeks) == 0 {
		return ""
	}
	parts := make([]string, 0, len(weeks))
	for _, w := range weeks[1:] {
		parts = append(parts, strconv.Itoa(w.Count))
	}
	return T("admin.unansweredWeeks", "Ended as 対応できず: {{.Now}} this week; the weeks before: {{.Before}}",
		map[string]any{"Now": weeks[0].Count, "Before": strings.Join(parts, ", ")})
}

func (t *orgTab) teamHint() fyne.CanvasObject {
	l := newJALabel(T("admin.teamHint", "A client who writes waits in 未対応 (the pool) until a counselor takes the conversation; from then on only that counselor and the admins read it."))
	l.Importance = widget.LowImportance
	return l
}

// appIconLabels names protocol.AppIcons, in the same order.
func appIconLabels() []string {
	return []string{T("icon.default", "Standard"), T("icon.notes", "Notes"), T("icon.calendar", "Calendar"), T("icon.weather", "Weather")}
}

// dayTicked enables a day's times, filling in usual hours where empty:
// a grey hint that looks like a value but is none is worse than a value.
func (t *orgTab) dayTicked(d int, on bool) {
	if !on {
		t.starts[d].Disable()
		t.ends[d].Disable()
		return
	}
	t.starts[d].Enable()
	t.ends[d].Enable()
	if t.settling {
		return
	}
	if t.starts[d].Text == "" {
		t.starts[d].SetText(defaultStart)
	}
	if t.ends[d].Text == "" {
		t.ends[d].SetText(defaultEnd)
	}
}

// setPause switches the pause at once.
func (t *orgTab) setPause(on bool) {
	if t.settling {
		return
	}
	pause := hours.Pause{On: on}
	var org protocol.Org
	t.env.call(T("admin.pauseFailed", "Could not change the pause"), func(ctx context.Context) error {
		var err error
		org, err = t.env.api.UpdateSettings(ctx, protocol.SettingsPatch{Pause: &pause})
		return err
	}, func() { t.showPause(org) })
}

func (t *orgTab) showPause(org protocol.Org) {
	t.settling = true
	t.pause.SetChecked(org.Settings.Pause.On)
	t.settling = false
	if org.Settings.Pause.On {
		t.pauseState.SetText(T("admin.pausedNow", "Paused: clients see that replies will come later."))
		t.pauseState.Importance = widget.WarningImportance
	} else {
		t.pauseState.SetText(T("admin.notPaused", "Not paused: business hours apply."))
		t.pauseState.Importance = widget.LowImportance
	}
	t.pauseState.Refresh()
}

func (t *orgTab) show(org protocol.Org) {
	s := org.Settings
	t.env.org = s.DisplayName
	t.env.retention, t.env.contact = s.RetentionSeconds, s.ContactText
	if org.AppPath != "" {
		t.env.appURL = t.env.server + org.AppPath
	}
	t.showPause(org)
	t.settling = true
	defer func() { t.settling = false }()
	t.zone.SetText(s.Hours.TimeZone)
	for d := 0; d < 7; d++ {
		t.starts[d].SetText("")
		t.ends[d].SetText("")
		t.days[d].SetChecked(false)
	}
	for _, sp := range s.Hours.Spans {
		t.starts[sp.Day].SetText(sp.Start.String())
		t.ends[sp.Day].SetText(sp.End.String())
		t.days[sp.Day].SetChecked(true)
	}
	if s.ClosedBehavior == protocol.ClosedBlock {
		t.closed.SetSelected(t.closed.Options[1])
	} else {
		t.closed.SetSelected(t.closed.Options[0])
	}
	t.retention.SetText(strconv.FormatInt(s.RetentionSeconds/86400, 10))
	t.writeFirst.SetChecked(s.StaffMayWriteFirst)
	t.claimBy.SetSelected(t.claimBy.Options[0])
	if s.ClaimByButton {
		t.claimBy.SetSelected(t.claimBy.Options[1])
	}
	t.announce.SetChecked(s.AnnounceHandover)
	t.maxOpen.SetText(strconv.Itoa(s.MaxOpen))
	t.fileMB.SetText(strconv.FormatInt((s.AttachmentLimit()+(1<<20)-1)>>20, 10))
	t.nomLapse.SetText(strconv.Itoa(s.NominationLapseDays))
	t.nomTimeout.SetText(strconv.Itoa(s.NominationTimeoutHours))
	t.unansweredHours.SetText(strconv.Itoa(s.UnansweredTimeoutHours))
	t.apology.SetText(s.ApologyText)
	t.crisis.SetText(strings.Join(s.CrisisPhrases, "\n"))
	t.loadUnanswered()
	t.hoursOnly.SetChecked(s.CounselorHoursOnly)
	t.margin.SetText(strconv.Itoa(s.CounselorMarginMinutes))
	auditDays := s.AuditRetentionDays
	if auditDays == 0 {
		auditDays = protocol.DefaultAuditRetentionDays
	}
	t.auditDays.SetText(strconv.Itoa(auditDays))
	t.deleteDays.SetText(strconv.Itoa(s.DeleteAfterAccessDays))
	t.orgName.SetText(s.DisplayName)
	t.showName.SetChecked(s.ShowOrgName)
	t.welcome.SetText(s.WelcomeText)
	t.contact.SetText(s.ContactText)
	t.appName.SetText(s.AppName)
	t.appIcon.SetSelectedIndex(max(0, slices.Index(protocol.AppIcons, s.AppIcon)))
	t.appLink.SetText(t.env.appURL)
}

// Save checks the form and sends it; a field that is wrong is named.
func (t *orgTab) Save() {
	win := t.env.win
	zone := strings.TrimSpace(t.zone.Text)
	if _, err := time.LoadLocation(zone); zone != "" && err != nil {
		Inform(win, T("admin.timeZone", "Time zone"), T("admin.badZone", "Enter a time zone such as Asia/Tokyo."))
		return
	}
	sched := hours.Schedule{TimeZone: zone}
	for d := 0; d < 7; d++ {
		if !t.days[d].Checked {
			continue
		}
		start, err1 := hours.ParseClock(strings.TrimSpace(t.starts[d].Text))
		end, err2 := hours.ParseClock(strings.TrimSpace(t.ends[d].Text))
		if err1 != nil || err2 != nil {
			Inform(win, T("admin.hours", "Business hours"), T("admin.badClock", "Write times as 09:00 and 17:00 ({{.Day}}).", map[string]any{"Day": t.days[d].Text}))
			return
		}
		sched.Spans = append(sched.Spans, hours.Span{Day: time.Weekday(d), Start: start, End: end})
	}
	days, err := strconv.ParseInt(strings.TrimSpace(t.retention.Text), 10, 64)
	if err != nil || days < 1 || days > 365 {
		Inform(win, T("admin.retention", "Keep messages (days)"), T("admin.badRetention", "Enter a number of days from 1 to 365."))
		return
	}
	secs := days * 86400
	behavior := protocol.ClosedAccept
	if t.closed.Selected == t.closed.Options[1] {
		behavior = protocol.ClosedBlock
	}
	writeFirst := t.writeFirst.Checked
	claimByButton := t.claimBy.Selected == t.claimBy.Options[1]
	announce := t.announce.Checked
	maxOpen, err := strconv.Atoi(strings.TrimSpace(t.maxOpen.Text))
	if err != nil || maxOpen < 0 || maxOpen > protocol.MaxMaxOpen {
		Inform(win, T("admin.maxOpen", "Most conversations per counselor (0: no limit)"), T("admin.badMaxOpen", "Enter a number from 0 (no limit) to {{.Max}}.", map[string]any{"Max": protocol.MaxMaxOpen}))
		return
	}
	fileMB, err := strconv.ParseInt(strings.TrimSpace(t.fileMB.Text), 10, 64)
	if err != nil || fileMB < 1 || fileMB<<20 > protocol.MaxAttachmentBytes {
		Inform(win, T("admin.fileMB", "Largest photo or PDF (MB, 1 to 1024)"), T("admin.badFileMB", "Enter a number of MB from 1 to {{.Max}}.", map[string]any{"Max": protocol.MaxAttachmentBytes >> 20}))
		return
	}
	fileBytes := fileMB << 20
	nomLapse, err1 := strconv.Atoi(strings.TrimSpace(t.nomLapse.Text))
	nomTimeout, err2 := strconv.Atoi(strings.TrimSpace(t.nomTimeout.Text))
	if err1 != nil || err2 != nil || nomLapse < 0 || nomLapse > protocol.MaxNominationLapseDays || nomTimeout < 0 || nomTimeout > protocol.MaxNominationTimeoutHours {
		Inform(win, T("admin.team", "Taking conversations"), T("admin.badNomination", "Enter days from 0 to {{.Days}} and hours from 0 to {{.Hours}}.",
			map[string]any{"Days": protocol.MaxNominationLapseDays, "Hours": protocol.MaxNominationTimeoutHours}))
		return
	}
	unansweredHours, err := strconv.Atoi(strings.TrimSpace(t.unansweredHours.Text))
	if err != nil || unansweredHours < 0 || unansweredHours > protocol.MaxUnansweredTimeoutHours {
		Inform(win, T("admin.team", "Taking conversations"), T("admin.badUnanswered", "Enter hours from 0 (three days) to {{.Max}}.", map[string]any{"Max": protocol.MaxUnansweredTimeoutHours}))
		return
	}
	apology := strings.TrimSpace(t.apology.Text)
	if len([]rune(apology)) > protocol.MaxApologyRunes {
		Inform(win, T("admin.apology", "Apology with alternatives"), T("admin.badAppName", "Use at most {{.Max}} characters.", map[string]any{"Max": protocol.MaxApologyRunes}))
		return
	}
	crisis := []string{}
	for _, line := range strings.Split(t.crisis.Text, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			crisis = append(crisis, line)
		}
	}
	appName := strings.TrimSpace(t.appName.Text)
	if len([]rune(appName)) > protocol.MaxAppNameRunes {
		Inform(win, T("admin.appName", "App name"), T("admin.badAppName", "Use at most {{.Max}} characters.", map[string]any{"Max": protocol.MaxAppNameRunes}))
		return
	}
	appIcon := protocol.AppIcons[max(0, t.appIcon.SelectedIndex())]
	margin, err := strconv.Atoi(strings.TrimSpace(t.margin.Text))
	if err != nil || margin < 0 || margin > protocol.MaxCounselorMarginMinutes {
		Inform(win, T("admin.margin", "Margin around business hours (minutes)"),
			T("admin.badMargin", "Enter minutes from 0 to {{.Max}}.", map[string]any{"Max": protocol.MaxCounselorMarginMinutes}))
		return
	}
	auditDays, err := strconv.Atoi(strings.TrimSpace(t.auditDays.Text))
	if err != nil || auditDays < protocol.MinAuditRetentionDays || auditDays > protocol.MaxAuditRetentionDays {
		Inform(win, T("admin.auditDays", "Keep the audit log (days)"),
			T("admin.badAuditDays", "Enter days from {{.Min}} to {{.Max}}.", map[string]any{"Min": protocol.MinAuditRetentionDays, "Max": protocol.MaxAuditRetentionDays}))
		return
	}
	deleteDays, err := strconv.Atoi(strings.TrimSpace(t.deleteDays.Text))
	if err != nil || deleteDays < 0 || deleteDays > protocol.MaxDeleteAfterAccessDays {
		Inform(win, T("admin.deleteDays", "Delete clients this many days after their access ends"),
			T("admin.badAuditDays", "Enter days from {{.Min}} to {{.Max}}.", map[string]any{"Min": 0, "Max": protocol.MaxDeleteAfterAccessDays}))
		return
	}
	orgName := strings.TrimSpace(t.orgName.Text)
	if orgName == "" {
		Inform(win, T("admin.orgName", "Organisation's name"), T("admin.needOrgName", "Enter the organisation's name."))
		return
	}
	welcome, contact := strings.TrimSpace(t.welcome.Text), strings.TrimSpace(t.contact.Text)
	for _, f := range []struct{ name, text string }{{T("admin.welcome", "Welcome"), welcome}, {T("admin.contact", "Whom to ask"), contact}} {
		if len([]rune(f.text)) > protocol.MaxClientTextRunes {
			Inform(win, f.name, T("admin.badAppName", "Use at most {{.Max}} characters.", map[string]any{"Max": protocol.MaxClientTextRunes}))
			return
		}
	}
	showName := t.showName.Checked
	hoursOnly := t.hoursOnly.Checked
	patch := protocol.SettingsPatch{Hours: &sched, RetentionSeconds: &secs, ClosedBehavior: &behavior,
		StaffMayWriteFirst: &writeFirst, AppName: &appName, AppIcon: &appIcon,
		CounselorHoursOnly: &hoursOnly, CounselorMarginMinutes: &margin, AuditRetentionDays: &auditDays, DeleteAfterAccessDays: &deleteDays,
		DisplayName: &orgName, ShowOrgName: &showName, WelcomeText: &welcome, ContactText: &contact,
		ClaimByButton: &claimByButton, AnnounceHandover: &announce, MaxOpen: &maxOpen, AttachmentMaxBytes: &fileBytes,
		NominationLapseDays: &nomLapse, NominationTimeoutHours: &nomTimeout,
		UnansweredTimeoutHours: &unansweredHours, ApologyText: &apology, CrisisPhrases: &crisis}
	var org protocol.Org
	t.env.call(T("admin.saveFailed", "Could not save"), func(ctx context.Context) error {
		var err error
		org, err = t.env.api.UpdateSettings(ctx, patch)
		return err
	}, func() {
		t.show(org)
		Inform(win, T("admin.settings", "Organisation"), T("admin.saved", "Settings saved."))
	})
}
