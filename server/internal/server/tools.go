package server

import (
	"net/http"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// setProgress changes staff's progress of a conversation; every staff
// connection hears of it through the store's change.
func (s *Server) setProgress(w http.ResponseWriter, r *http.Request, a *session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req protocol.ProgressRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	conv, err := s.store.SetProgress(r.Context(), a.p, id, req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, conv)
	return nil
}

// setClientNote replaces staff's note about a client. The note is never
// logged: IDs only.
func (s *Server) setClientNote(w http.ResponseWriter, r *http.Request, a *session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req protocol.NoteRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	conv, err := s.store.SetClientNote(r.Context(), a.p, id, req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, conv)
	return nil
}

// listTemplates lists the organisation's canned replies and the caller's
// own. Templates hold no client data: no access-hours check.
func (s *Server) listTemplates(w http.ResponseWriter, r *http.Request, a *session) error {
	list, err := s.store.Templates(r.Context(), a.p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

func (s *Server) createTemplate(w http.ResponseWriter, r *http.Request, a *session) error {
	var req protocol.TemplateRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	t, err := s.store.CreateTemplate(r.Context(), a.p, req)
	if err != nil {
		return err
	}
	// IDs only: a template's words stay out of the log.
	s.log.Info("template created", "org", a.p.OrgID, "by", a.p.AccountID, "template", t.ID, "scope", t.Scope)
	writeJSON(w, http.StatusCreated, t)
	return nil
}

func (s *Server) updateTemplate(w http.ResponseWriter, r *http.Request, a *session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req protocol.TemplateRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	t, err := s.store.UpdateTemplate(r.Context(), a.p, id, req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}

func (s *Server) deleteTemplate(w http.ResponseWriter, r *http.Request, a *session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.store.DeleteTemplate(r.Context(), a.p, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
