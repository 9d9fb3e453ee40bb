package server

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/credential"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/rules"
	"github.com/taiwa-chat/taiwa/server/internal/store"
)

// CookieName is the PWA's session cookie (HttpOnly: page scripts never see
// the token).
const CookieName = "taiwa_session"

// session is an authenticated request's who and how.
type session struct {
	store.Session
	account   store.AccountRecord
	p         store.Principal
	byCookie  bool
	tokenHash []byte
}

type roleSet func(protocol.Role) bool

var (
	anyone  roleSet = func(protocol.Role) bool { return true }
	staff   roleSet = protocol.Role.IsStaff
	admins  roleSet = func(r protocol.Role) bool { return r == protocol.RoleAdmin }
	clients roleSet = func(r protocol.Role) bool { return r == protocol.RoleClient }
	// Issue 16: a registrar registers clients and reads no conversation.
	people         roleSet = func(r protocol.Role) bool { return r == protocol.RoleClient || r.IsStaff() }
	clientManagers roleSet = protocol.Role.ManagesClients
	staffOrRegistr roleSet = func(r protocol.Role) bool { return r.IsStaff() || r == protocol.RoleRegistrar }
)

// bearer extracts the token from the Authorization header or the cookie.
func bearer(r *http.Request) (token string, byCookie bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		if t, ok := strings.CutPrefix(h, "Bearer "); ok {
			return strings.TrimSpace(t), false
		}
		return "", false
	}
	if c, err := r.Cookie(CookieName); err == nil {
		return c.Value, true
	}
	return "", false
}

func (s *Server) authenticate(r *http.Request) (*session, error) {
	token, byCookie := bearer(r)
	if token == "" || len(token) > 100 {
		return nil, protocol.Errorf(protocol.CodeUnauthorized, "sign in first")
	}
	hash := credential.TokenHash(token)
	sess, acct, err := s.store.SessionByToken(r.Context(), hash)
	if err != nil {
		return nil, err
	}
	return &session{Session: sess, account: acct, p: acct.Principal(), byCookie: byCookie, tokenHash: hash}, nil
}

// sameOrigin guards cookie-carrying requests (and sign-in, which sets the
// cookie) against cross-site pages; SameSite=Strict already keeps the
// cookie off them in current browsers. Apps that are not browsers send no
// Origin and pass.
func (s *Server) sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return r.Header.Get("Sec-Fetch-Site") != "cross-site"
	}
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return false
	}
	if u.Host == r.Host {
		return true
	}
	base, err := url.Parse(s.cfg.BaseURL)
	return err == nil && base.Host != "" && u.Host == base.Host
}

// authed wraps a handler that needs a session whose role is in roles.
func (s *Server) authed(roles roleSet, fn func(http.ResponseWriter, *http.Request, *session) error) http.HandlerFunc {
	return s.handle(func(w http.ResponseWriter, r *http.Request) error {
		a, err := s.authenticate(r)
		if err != nil {
			return err
		}
		if a.byCookie && !s.sameOrigin(r) {
			return protocol.Errorf(protocol.CodeForbidden, "cross-origin request refused")
		}
		if !roles(a.p.Role) {
			return protocol.Errorf(protocol.CodeForbidden, "your role may not do this")
		}
		s.touch(r.Context(), a)
		return fn(w, r, a)
	})
}

// touch records that a person used a staff or shared-device session
// (idle ones end; see Config.StaffIdle and SharedIdle), at most once a
// minute per session.
func (s *Server) touch(ctx context.Context, a *session) {
	if !a.p.IsStaff() && !a.Shared {
		return
	}
	now := s.cfg.Now()
	if last, ok := s.touched.Load(a.ID); ok && now.Sub(last.(time.Time)) < time.Minute {
		return
	}
	s.touched.Store(a.ID, now)
	if err := s.store.TouchSession(ctx, a.ID); err != nil && ctx.Err() == nil {
		s.log.Error("record session use", "err", err)
	}
}

// secondFactor checks a staff member's TOTP code if they turned one on.
// A missing code is asked for; a wrong or replayed one is a failed login.
func (s *Server) secondFactor(ctx context.Context, accountID int64, code string, now time.Time) error {
	secret, _, err := s.store.TOTP(ctx, accountID)
	if err != nil || secret == "" {
		return err
	}
	if code == "" {
		return protocol.Errorf(protocol.CodeTOTPRequired, "enter the 6-digit code from your authenticator app")
	}
	step, ok := credential.TOTPStep(code, secret, now)
	if !ok {
		return protocol.Errorf(protocol.CodeBadCredentials, "the code is incorrect")
	}
	return s.store.UseTOTPStep(ctx, accountID, step)
}

// login checks a login ID and password and opens a session. The answer
// never tells whether the ID exists: unknown IDs are hashed against a dummy
// and locked out like real ones.
func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	if !s.sameOrigin(r) {
		// A page on another site must not sign this browser in to an
		// account of the attacker's choosing (login CSRF).
		return protocol.Errorf(protocol.CodeForbidden, "cross-origin request refused")
	}
	var req protocol.LoginRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if len(req.LoginID) > 100 || len(req.Password) > credential.MaxPasswordBytes || len(req.Device) > 100 || len(req.TOTP) > 20 {
		return protocol.Errorf(protocol.CodeBadRequest, "login ID, password or device label too long")
	}
	if req.Shared && !req.Cookie {
		return protocol.Errorf(protocol.CodeBadRequest, "shared applies to cookie sign-ins only")
	}
	id := credential.NormalizeLoginID(req.LoginID)
	att, err := s.guard.reserve(id, s.clientAddr(r))
	if err != nil {
		s.metrics.logins.WithLabelValues("refused").Inc()
		return err
	}
	defer att.done(false) // a no-op once decided
	start := time.Now()
	acct, lookupErr := s.store.AccountByLogin(r.Context(), id)
	hash := s.dummy
	if lookupErr == nil {
		hash = acct.PasswordHash
	} else if protocol.AsError(lookupErr).Code != protocol.CodeNotFound {
		return lookupErr
	}
	ok, err := credential.Verify(credential.NormalizePassword(req.Password), hash)
	att.hashed()
	if err != nil {
		return err
	}
	if !ok || lookupErr != nil {
		att.done(false)
		s.metrics.logins.WithLabelValues("failed").Inc()
		// Waiting, not hashing: the time costs no CPU.
		select {
		case <-time.After(time.Until(start.Add(s.failFloor))):
		case <-r.Context().Done():
		}
		return protocol.Errorf(protocol.CodeBadCredentials, "login ID or password is incorrect")
	}
	now := s.cfg.Now()
	if err := rules.SignIn(acct, now); err != nil {
		att.done(true)
		s.metrics.logins.WithLabelValues("expired").Inc()
		return err
	}
	if err := s.secondFactor(r.Context(), acct.ID, req.TOTP, now); err != nil {
		switch protocol.AsError(err).Code {
		case protocol.CodeBadCredentials:
			att.done(false)
			s.metrics.logins.WithLabelValues("failed").Inc()
		case protocol.CodeTOTPRequired:
			att.done(true) // the password was right; the code is asked for
		}
		return err
	}
	att.done(true)
	token := credential.NewToken()
	sess, err := s.store.CreateSession(r.Context(), store.NewSession{AccountID: acct.ID, TokenHash: credential.TokenHash(token),
		Device: strings.TrimSpace(req.Device), ExpiresAt: now.Add(s.cfg.SessionTTL), Shared: req.Shared})
	if err != nil {
		return err
	}
	org, err := s.store.Org(r.Context(), acct.OrgID)
	if err != nil {
		return err
	}
	s.metrics.logins.WithLabelValues("ok").Inc()
	s.log.Info("login", "account", acct.ID, "role", acct.Role, "session", sess.ID)
	if req.Cookie {
		c := &http.Cookie{
			Name: CookieName, Value: token, Path: "/", Expires: sess.ExpiresAt,
			HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: s.isHTTPS(r),
		}
		if req.Shared {
			c.Expires = time.Time{} // a session cookie: gone when the browser closes
		}
		http.SetCookie(w, c)
	}
	writeJSON(w, http.StatusOK, protocol.LoginResponse{Token: token, ExpiresAt: sess.ExpiresAt, Account: publicAccount(acct.Account), Org: orgFor(acct.Role, org)})
	return nil
}

// checkSecret verifies a secret of the signed-in account (its current
// password, or a TOTP code) as a guess that counts toward the login
// lockout: a stolen session must not be a way around it.
func (s *Server) checkSecret(r *http.Request, a *session, check func() (bool, error)) error {
	att, err := s.guard.reserve(a.account.LoginID, s.clientAddr(r))
	if err != nil {
		return err
	}
	defer att.done(false)
	ok, err := check()
	att.hashed()
	if err != nil {
		return err
	}
	att.done(ok)
	if !ok {
		return protocol.Errorf(protocol.CodeBadCredentials, "the password or code is incorrect")
	}
	return nil
}

// currentPassword checks the signed-in account's own password.
func (s *Server) currentPassword(r *http.Request, a *session, password string) error {
	if len(password) > credential.MaxPasswordBytes {
		return protocol.Errorf(protocol.CodeBadRequest, "password too long")
	}
	err := s.checkSecret(r, a, func() (bool, error) {
		return credential.Verify(credential.NormalizePassword(password), a.account.PasswordHash)
	})
	if protocol.AsError(err).Code == protocol.CodeBadCredentials {
		return protocol.Errorf(protocol.CodeBadCredentials, "the current password is incorrect")
	}
	return err
}

// publicAccount is what an account is shown about itself: the
// counselor-only note is never sent to the client it describes.
func publicAccount(a protocol.Account) protocol.Account {
	if a.Role == protocol.RoleClient {
		a.Note = ""
	}
	return a
}

// hashPassword hashes a new password with bounded concurrency: each hash
// takes memory, and a bulk registration must leave sign-ins a slot. p is
// cfg.Password for chosen passwords, cfg.Generated for generated ones.
func (s *Server) hashPassword(ctx context.Context, password string, p credential.Params) (string, error) {
	select {
	case s.hashers <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	s.guard.otherHash(1)
	defer func() {
		s.guard.otherHash(-1)
		<-s.hashers
	}()
	return credential.Hash(password, p), nil
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, a *session) error {
	if err := s.store.RevokeSession(r.Context(), a.ID, "logout"); err != nil {
		return err
	}
	// ?wiped=1: the app wiped itself before signing out (the PWA, whose
	// cookie this answer clears, cannot confirm afterwards).
	if r.URL.Query().Get("wiped") == "1" {
		if err := s.store.RecordWipedEnded(r.Context(), a.tokenHash); err != nil {
			return err
		}
	}
	if a.byCookie {
		http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
