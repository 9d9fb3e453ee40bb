package protocol

import (
	"errors"
	"fmt"
	"time"
)

// Code is a stable, machine-readable error code. Apps translate codes into
// their own language; Message is English for logs and developers.
type Code string

// Error codes shared by the HTTP API and WebSocket frames.
const (
	CodeBadFrame           Code = "bad_frame"
	CodeBadRequest         Code = "bad_request"
	CodeUnknownType        Code = "unknown_type"
	CodeUnsupportedVersion Code = "unsupported_version"
	CodeTooLarge           Code = "too_large"
	CodeUnsupportedMedia   Code = "unsupported_media_type" // a JSON body sent without Content-Type: application/json
	CodeMethodNotAllowed   Code = "method_not_allowed"     // the path exists, the method does not (with an Allow header)
	CodeUpgradeRequired    Code = "upgrade_required"       // the live endpoint without a WebSocket handshake
	CodeInvalidBody        Code = "invalid_body"
	CodeInvalid            Code = "invalid"
	CodeUnauthorized       Code = "unauthorized" // no or expired session
	CodeBadCredentials     Code = "bad_credentials"
	CodeTOTPRequired       Code = "totp_required" // the password is right; now the second factor's code
	CodeLocked             Code = "locked"        // too many failed logins
	CodeRateLimited        Code = "rate_limited"
	CodeForbidden          Code = "forbidden"
	CodeOutsideHours       Code = "outside_access_hours" // counselors, outside business hours ± margin; with reopens_at
	CodeNotFound           Code = "not_found"
	CodeClosed             Code = "closed" // organisation closed and blocking
	CodeClientFirst        Code = "client_first"
	CodeConflict           Code = "conflict"
	CodeTaken              Code = "taken"       // a colleague took the conversation first (claims: exactly one wins)
	CodeClaimFirst         Code = "claim_first" // the conversation is not the writer's: take it (claim) first
	CodeAtCapacity         Code = "at_capacity" // the counselor already has the organisation's max_open conversations
	CodeInternal           Code = "internal"
	CodeUnavailable        Code = "unavailable"
)

// Retryable reports whether a request refused with c is worth sending
// again as it is: the server failed (internal) or was busy or away
// (unavailable). Every other code is final for that request; an app keeps
// the person's words and says why.
func (c Code) Retryable() bool { return c == CodeInternal || c == CodeUnavailable }

// Error is the body of every refused request and error frame.
type Error struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
	// ReopensAt accompanies CodeClosed and CodeOutsideHours; RetryAfter
	// CodeLocked, CodeRateLimited and CodeUnavailable.
	ReopensAt  *time.Time `json:"reopens_at,omitempty"`
	RetryAfter int        `json:"retry_after,omitempty"` // seconds
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// Errorf builds an *Error.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// AsError returns err's *Error, or an internal error that hides err's text.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: CodeInternal, Message: "internal error"}
}
