package session

import (
	"context"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"

	"github.com/taiwa-chat/taiwa/desktop/internal/ui"
	"github.com/taiwa-chat/taiwa/pkg/client"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// toolsTimeout bounds one call of the working tools (progress, templates).
const toolsTimeout = 15 * time.Second

// sendWith queues a reply that also sets the conversation's progress or
// names its template: the outbox keeps both, so a reply written offline
// still sets its date when it goes out, in the same transaction.
func (c *Controller) sendWith(conversationID int64, body string, x ui.SendExtras) {
	p := client.PendingMessage{Ref: client.NewRef(), ConversationID: conversationID, Body: body,
		Progress: x.Progress, NextContact: x.NextContact, TemplateID: x.TemplateID, Decides: x.Decides}
	if c.cache != nil {
		if err := c.cache.AddPending(p); err != nil {
			c.log.Error("outbox write failed", "err", err)
		}
	}
	c.in.AddPending(p)
	c.live.EnqueueMessage(p)
}

// trayUnhandledCount shows how many conversations wait for a reply in
// the tray's menu, where there is one.
func (c *Controller) trayUnhandledCount(n int) {
	desk, ok := c.app.(desktop.App)
	if !ok || n == c.trayUnhandled {
		return
	}
	c.trayUnhandled = n
	if c.trayMenu {
		c.trayShow(desk)
	}
}

// remind tells the counselor, once a day, of the contacts promised for
// today or overdue: counts only, no names (notifications show on a
// locked screen).
func (c *Controller) remind(overdue, today int) {
	c.app.SendNotification(fyne.NewNotification(ui.T("notify.title", "Taiwa"),
		ui.T("notify.due", "Promised contacts: {{.Today}} today, {{.Overdue}} overdue.", map[string]any{"Today": today, "Overdue": overdue})))
}

// call runs f off the UI goroutine with a timeout and hands its error
// back on the UI goroutine.
func (c *Controller) call(s *session, f func(ctx context.Context) error, done func(error)) {
	go func() {
		ctx, cancel := context.WithTimeout(s.ctx, toolsTimeout)
		defer cancel()
		err := f(ctx)
		c.do(func() {
			if done != nil {
				done(err)
			}
		})
	}()
}

// setProgress changes a conversation's progress by hand; the change comes
// back to every staff app, this one included, as a conversation frame.
func (c *Controller) setProgress(s *session) func(int64, protocol.ProgressRequest, func(error)) {
	return func(id int64, req protocol.ProgressRequest, done func(error)) {
		c.call(s, func(ctx context.Context) error {
			_, err := s.cli.SetProgress(ctx, id, req)
			return err
		}, done)
	}
}

// setNote replaces staff's note about a client; the change comes back to
// every staff app as a conversation frame.
func (c *Controller) setNote(s *session) func(int64, protocol.NoteRequest, func(error)) {
	return func(clientID int64, req protocol.NoteRequest, done func(error)) {
		c.call(s, func(ctx context.Context) error {
			_, err := s.cli.SetClientNote(ctx, clientID, req)
			return err
		}, done)
	}
}

// templateAPI lists and edits canned replies over the session's client.
func (c *Controller) templateAPI(s *session) ui.TemplateAPI {
	return ui.TemplateAPI{
		List: func(done func([]protocol.Template, error)) {
			var list []protocol.Template
			c.call(s, func(ctx context.Context) (err error) {
				list, err = s.cli.Templates(ctx)
				return err
			}, func(err error) { done(list, err) })
		},
		Save: func(id int64, req protocol.TemplateRequest, done func(protocol.Template, error)) {
			var t protocol.Template
			c.call(s, func(ctx context.Context) (err error) {
				if id == 0 {
					t, err = s.cli.CreateTemplate(ctx, req)
				} else {
					t, err = s.cli.UpdateTemplate(ctx, id, req)
				}
				return err
			}, func(err error) { done(t, err) })
		},
		Delete: func(id int64, done func(error)) {
			c.call(s, func(ctx context.Context) error { return s.cli.DeleteTemplate(ctx, id) }, done)
		},
	}
}
