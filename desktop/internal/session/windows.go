package session

import "fyne.io/fyne/v2"

// windows are the windows a session opened besides the main one (admin
// settings, supervisor's views): each shows client data, so each closes
// when the session ends, however it ends. Touched on the UI goroutine.
type windows struct {
	app  fyne.App
	open []fyne.Window
}

// New opens a window that belongs to the session.
func (ws *windows) New(title string) fyne.Window {
	w := ws.app.NewWindow(title)
	ws.open = append(ws.open, w)
	w.SetOnClosed(func() { ws.forget(w) })
	return w
}

func (ws *windows) forget(w fyne.Window) {
	for i, o := range ws.open {
		if o == w {
			ws.open = append(ws.open[:i], ws.open[i+1:]...)
			return
		}
	}
}

// CloseAll closes every window of the session.
func (ws *windows) CloseAll() {
	open := ws.open
	ws.open = nil
	for _, w := range open {
		w.Close()
	}
}

// Count is the number of session windows open.
func (ws *windows) Count() int { return len(ws.open) }
