package server

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// transferIdle bounds how long an upload or a download may stall: a
// large file over a slow phone network takes longer than the server's
// whole-request timeouts, so each one's deadline moves on as bytes move.
const transferIdle = 30 * time.Second

// uploadAttachment streams a request's body into a new attachment of the
// conversation (the store seals it on its way to disk and decides its
// type, by content, and its size against the organisation's limit). The
// body is declared application/octet-stream: a form on another site
// cannot send that without the browser asking first.
func (s *Server) uploadAttachment(w http.ResponseWriter, r *http.Request, a *session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/octet-stream" {
		return protocol.Errorf(protocol.CodeUnsupportedMedia, "send the file as Content-Type: application/octet-stream")
	}
	if r.ContentLength > protocol.MaxAttachmentBytes {
		return protocol.Errorf(protocol.CodeTooLarge, "the file is larger than %d bytes", protocol.MaxAttachmentBytes)
	}
	rc := http.NewResponseController(w)
	body := &deadlineReader{r: http.MaxBytesReader(w, r.Body, protocol.MaxAttachmentBytes+1), extend: func() {
		_ = rc.SetReadDeadline(time.Now().Add(transferIdle)) // unsupported only in tests' recorders
	}}
	att, err := s.store.Upload(r.Context(), a.p, id, body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return protocol.Errorf(protocol.CodeTooLarge, "the file is larger than %d bytes", protocol.MaxAttachmentBytes)
		}
		return err
	}
	s.metrics.attachments.Inc()
	writeJSON(w, http.StatusCreated, att)
	return nil
}

// getAttachment streams an attachment to whoever may read it. Nothing of
// it may stay behind in a browser's or a proxy's cache (no-store), and
// the browser is told not to guess its type nor run anything in it.
func (s *Server) getAttachment(w http.ResponseWriter, r *http.Request, a *session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	att, rc, err := s.store.OpenAttachment(r.Context(), a.p, id)
	if err != nil {
		return err
	}
	defer rc.Close()
	h := w.Header()
	h.Set("Content-Type", att.Type)
	h.Set("Content-Length", strconv.FormatInt(att.Size, 10))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	// No file name: none is kept.
	h.Set("Content-Disposition", "inline")
	ctl := http.NewResponseController(w)
	dst := &deadlineWriter{w: w, extend: func() { _ = ctl.SetWriteDeadline(time.Now().Add(transferIdle)) }}
	if _, err := io.Copy(dst, rc); err != nil {
		// Headers are gone: the app sees a short body (Content-Length)
		// and tries again. Only a sealed file that fails to open is
		// worth a log line (no file name exists to leak).
		if !errors.Is(err, r.Context().Err()) {
			s.log.Warn("attachment not served whole", "attachment", id, "err", err)
		}
	}
	return nil
}

// deadlineReader moves the read deadline on before each read.
type deadlineReader struct {
	r      io.Reader
	extend func()
}

func (d *deadlineReader) Read(p []byte) (int, error) {
	d.extend()
	return d.r.Read(p)
}

// deadlineWriter moves the write deadline on before each write.
type deadlineWriter struct {
	w      io.Writer
	extend func()
}

func (d *deadlineWriter) Write(p []byte) (int, error) {
	d.extend()
	return d.w.Write(p)
}
