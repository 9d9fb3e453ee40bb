package ui

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// usageTab shows each group's weekly figures (issue 16) as the server
// gives them, small numbers already "<5", and saves them as CSV for the
// companies a provider reports to.
type usageTab struct {
	env     *adminEnv
	rows    []protocol.GroupUsage
	table   *widget.Table
	weeks   *widget.Select
	content fyne.CanvasObject
}

// usageColumns head the table and the CSV.
func usageColumns() []string {
	return []string{T("usage.week", "Week of"), T("usage.group", "Group"), T("usage.registered", "Registered"),
		T("usage.wrote", "Wrote"), T("usage.conversations", "Conversations"), T("usage.median", "Median wait for an answer")}
}

// usageCells is one row as shown and saved.
func usageCells(u protocol.GroupUsage) []string {
	median := "—"
	if u.MedianAnswerSeconds != nil {
		median = fmt.Sprintf("%d:%02d", *u.MedianAnswerSeconds/3600, *u.MedianAnswerSeconds/60%60)
	}
	return []string{u.Week, u.GroupName, u.Registered.String(), u.Wrote.String(), u.Conversations.String(), median}
}

// WriteUsageCSV writes the figures as CSV with a header row, as shown
// (small numbers as "<5"; a median as hours:minutes).
func WriteUsageCSV(w io.Writer, rows []protocol.GroupUsage) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(usageColumns()); err != nil {
		return err
	}
	for _, u := range rows {
		if err := cw.Write(usageCells(u)); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func newUsageTab(env *adminEnv) *usageTab {
	t := &usageTab{env: env}
	cols := usageColumns()
	t.table = widget.NewTableWithHeaders(
		func() (int, int) { return len(t.rows), len(cols) },
		func() fyne.CanvasObject { return widget.NewLabel("2026-11-30") },
		func(id widget.TableCellID, o fyne.CanvasObject) {
			if id.Row < len(t.rows) {
				o.(*widget.Label).SetText(usageCells(t.rows[id.Row])[id.Col])
			}
		})
	t.table.ShowHeaderColumn = false
	t.table.CreateHeader = func() fyne.CanvasObject {
		return widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	}
	t.table.UpdateHeader = func(id widget.TableCellID, o fyne.CanvasObject) {
		if id.Row < 0 && id.Col >= 0 && id.Col < len(cols) {
			o.(*widget.Label).SetText(cols[id.Col])
		}
	}
	for i, w := range []float32{110, 220, 90, 90, 110, 180} {
		t.table.SetColumnWidth(i, w)
	}
	t.weeks = widget.NewSelect([]string{"4", "8", "13", "26", "53"}, nil)
	t.weeks.SetSelected("8")
	// Chosen from here on: setting the default must not load (the tab
	// loads when it is opened, not while the admin window is built).
	t.weeks.OnChanged = func(string) { t.Load() }
	save := widget.NewButton(T("usage.csv", "Save CSV…"), t.saveCSV)
	// The explanation wraps under the controls: beside them in the row it
	// was squeezed to a few characters a line and stretched the row (seen
	// in the screenshot run).
	top := container.NewVBox(container.NewHBox(widget.NewLabel(T("usage.weeks", "Weeks")), t.weeks, save),
		newJALabel(T("usage.help", "No names; 1 to 4 show as \"<5\"; a median needs 5 answers.")))
	t.content = container.NewBorder(top, nil, nil, nil, t.table)
	return t
}

// Load fetches the figures for the weeks chosen.
func (t *usageTab) Load() {
	n, _ := strconv.Atoi(t.weeks.Selected)
	if n == 0 {
		n = 8
	}
	var rows []protocol.GroupUsage
	t.env.call(T("admin.loadFailed", "Could not load"), func(ctx context.Context) error {
		var err error
		rows, err = t.env.api.GroupUsage(ctx, n)
		return err
	}, func() {
		t.rows = rows
		t.table.Refresh()
	})
}

func (t *usageTab) saveCSV() {
	rows := t.rows
	d := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		if err != nil || w == nil {
			return
		}
		defer w.Close()
		if err := WriteUsageCSV(w, rows); err != nil {
			ShowError(t.env.win, T("cred.saveFailed", "Could not save"), err)
		}
	}, t.env.win)
	d.SetFileName("taiwa-usage.csv")
	d.Show()
}
