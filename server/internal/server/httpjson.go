package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// httpError is an error with its HTTP status. Errors from the store arrive
// as *protocol.Error and get their status from statusOf.
type httpError struct {
	status int
	code   protocol.Code
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func statusOf(code protocol.Code) int {
	switch code {
	case protocol.CodeBadRequest, protocol.CodeBadFrame, protocol.CodeInvalid, protocol.CodeInvalidBody, protocol.CodeUnknownType:
		return http.StatusBadRequest
	case protocol.CodeUnauthorized, protocol.CodeBadCredentials, protocol.CodeTOTPRequired:
		return http.StatusUnauthorized
	case protocol.CodeForbidden, protocol.CodeClientFirst, protocol.CodeOutsideHours, protocol.CodeClaimFirst:
		return http.StatusForbidden
	case protocol.CodeNotFound:
		return http.StatusNotFound
	case protocol.CodeConflict, protocol.CodeClosed, protocol.CodeTaken, protocol.CodeAtCapacity:
		return http.StatusConflict
	case protocol.CodeTooLarge:
		return http.StatusRequestEntityTooLarge
	case protocol.CodeUnsupportedMedia:
		return http.StatusUnsupportedMediaType
	case protocol.CodeMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case protocol.CodeUpgradeRequired:
		return http.StatusUpgradeRequired
	case protocol.CodeLocked, protocol.CodeRateLimited:
		return http.StatusTooManyRequests
	case protocol.CodeUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// handle adapts a handler that returns an error; every failure becomes one
// JSON shape with a stable code. Internal errors are logged, not shown.
func (s *Server) handle(fn func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			s.writeError(w, r, err)
		}
	}
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var (
		he   *httpError
		body protocol.Error
		code int
	)
	switch {
	case errors.As(err, &he):
		body, code = protocol.Error{Code: he.code, Message: he.msg}, he.status
	default:
		pe := protocol.AsError(err)
		body, code = *pe, statusOf(pe.Code)
	}
	if code == http.StatusInternalServerError {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if body.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(body.RetryAfter))
	}
	writeJSON(w, code, protocol.ErrorResponse{Error: body})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client has gone if this fails
}

// decodeJSON reads a bounded, valid UTF-8 JSON body into v, refusing
// unknown fields so that a typo is an error rather than a silent no-op.
// The body must be declared as JSON: a form on another site can send
// text/plain that happens to be JSON, but not application/json without
// the browser asking first (CORS preflight, which nothing here answers).
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return protocol.Errorf(protocol.CodeUnsupportedMedia, "send the body as Content-Type: application/json")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, protocol.MaxRequestBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return protocol.Errorf(protocol.CodeTooLarge, "request body exceeds %d bytes", protocol.MaxRequestBytes)
		}
		return protocol.Errorf(protocol.CodeBadRequest, "read request body: %v", err)
	}
	if !utf8.Valid(body) {
		return protocol.Errorf(protocol.CodeBadRequest, "request body is not valid UTF-8")
	}
	if err := protocol.CheckEscapes(body); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return protocol.Errorf(protocol.CodeBadRequest, "malformed JSON body: %v", err)
	}
	if dec.More() {
		return protocol.Errorf(protocol.CodeBadRequest, "malformed JSON body: trailing data")
	}
	return protocol.CheckKeys(body, v)
}

func pathID(r *http.Request, name string) (int64, error) {
	v, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || v <= 0 {
		return 0, protocol.Errorf(protocol.CodeBadRequest, "%s must be a positive integer", name)
	}
	return v, nil
}

func queryInt(r *http.Request, name string, def int64) (int64, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 {
		return 0, protocol.Errorf(protocol.CodeBadRequest, "%s must be a non-negative integer", name)
	}
	return v, nil
}
