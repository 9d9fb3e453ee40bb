package server

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/taiwa-chat/taiwa/pkg/credential"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/pkg/store"
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

// sameOrigin guards cookie-authenticated writes against cross-site
// requests (SameSite=Strict already blocks them in current browsers).
func sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return r.Header.Get("Sec-Fetch-Site") != "cross-site"
	}
	o, ok := strings.CutPrefix(origin, "https://")
	if !ok {
		o, ok = strings.CutPrefix(origin, "http://")
	}
	return ok && o == r.Host
}

// authed wraps a handler that needs a session whose role is in roles.
func (s *Server) authed(roles roleSet, fn func(http.ResponseWriter, *http.Request, *session) error) http.HandlerFunc {
	return s.handle(func(w http.ResponseWriter, r *http.Request) error {
		a, err := s.authenticate(r)
		if err != nil {
			return err
		}
		if a.byCookie && r.Method != http.MethodGet && !sameOrigin(r) {
			return protocol.Errorf(protocol.CodeForbidden, "cross-origin request refused")
		}
		if !roles(a.p.Role) {
			return protocol.Errorf(protocol.CodeForbidden, "your role may not do this")
		}
		s.touch(r.Context(), a)
		return fn(w, r, a)
	})
}

// touch records that a person used a staff session (idle sessions end;
// see Config.StaffIdle), at most once a minute per session.
func (s *Server) touch(ctx context.Context, a *session) {
	if !a.p.IsStaff() {
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

func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// login checks a login ID and password and opens a session. The answer
// never tells whether the ID exists: unknown IDs are hashed against a dummy
// and locked out like real ones.
func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	var req protocol.LoginRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if len(req.LoginID) > 100 || len(req.Password) > 200 || len(req.Device) > 100 || len(req.TOTP) > 20 {
		return protocol.Errorf(protocol.CodeBadRequest, "login ID, password or device label too long")
	}
	id := credential.NormalizeLoginID(req.LoginID)
	addr := clientAddr(r)
	if err := s.guard.check(id, addr); err != nil {
		s.metrics.logins.WithLabelValues("refused").Inc()
		return err
	}
	acct, lookupErr := s.store.AccountByLogin(r.Context(), id)
	hash := s.dummy
	if lookupErr == nil {
		hash = acct.PasswordHash
	} else if protocol.AsError(lookupErr).Code != protocol.CodeNotFound {
		return lookupErr
	}
	ok, err := s.verify(r.Context(), credential.NormalizePassword(req.Password), hash)
	if err != nil {
		return err
	}
	if !ok || lookupErr != nil {
		s.guard.fail(id, addr)
		s.metrics.logins.WithLabelValues("failed").Inc()
		return protocol.Errorf(protocol.CodeBadCredentials, "login ID or password is incorrect")
	}
	now := s.cfg.Now()
	if acct.AccessUntil != nil && !now.Before(*acct.AccessUntil) {
		s.metrics.logins.WithLabelValues("expired").Inc()
		return protocol.Errorf(protocol.CodeForbidden, "the access period for this login has ended")
	}
	if err := s.secondFactor(r.Context(), acct.ID, req.TOTP, now); err != nil {
		if protocol.AsError(err).Code == protocol.CodeBadCredentials {
			s.guard.fail(id, addr)
			s.metrics.logins.WithLabelValues("failed").Inc()
		}
		return err
	}
	s.guard.succeed(id)
	token := credential.NewToken()
	sess, err := s.store.CreateSession(r.Context(), acct.ID, credential.TokenHash(token), strings.TrimSpace(req.Device), now.Add(s.cfg.SessionTTL))
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
			HttpOnly: true, SameSite: http.SameSiteStrictMode,
			Secure: r.TLS != nil || strings.HasPrefix(s.cfg.BaseURL, "https://"),
		}
		if req.Shared {
			c.Expires = time.Time{} // a session cookie: gone when the browser closes
		}
		http.SetCookie(w, c)
	}
	writeJSON(w, http.StatusOK, protocol.LoginResponse{Token: token, ExpiresAt: sess.ExpiresAt, Account: publicAccount(acct.Account), Org: orgFor(acct.Role, org)})
	return nil
}

// publicAccount is what an account is shown about itself: the
// counselor-only note is never sent to the client it describes.
func publicAccount(a protocol.Account) protocol.Account {
	if a.Role == protocol.RoleClient {
		a.Note = ""
	}
	return a
}

// verify runs argon2 with bounded concurrency: each hash takes 64 MiB, and
// a burst of logins must not exhaust memory.
func (s *Server) verify(ctx context.Context, password, hash string) (bool, error) {
	select {
	case s.hashers <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	defer func() { <-s.hashers }()
	return credential.Verify(password, hash)
}

func (s *Server) hashPassword(ctx context.Context, password string) (string, error) {
	select {
	case s.hashers <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-s.hashers }()
	return credential.Hash(password, s.cfg.Password), nil
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

// loginGuard limits guessing: a login ID is locked after MaxFailures
// failures within Lockout, and an address may fail only AddrFailures times
// in a burst, refilling one every AddrRefill. Successful logins are not
// limited per address: a seminar room behind one NAT signs in together.
type loginGuard struct {
	mu     sync.Mutex
	now    func() time.Time
	cfg    Config
	byID   map[string]*idFailures
	byAddr map[string]*rate.Limiter
}

type idFailures struct {
	count       int
	first       time.Time
	lockedUntil time.Time
}

func newLoginGuard(cfg Config) *loginGuard {
	return &loginGuard{now: cfg.Now, cfg: cfg, byID: map[string]*idFailures{}, byAddr: map[string]*rate.Limiter{}}
}

func (g *loginGuard) check(id, addr string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	if f := g.byID[id]; f != nil && now.Before(f.lockedUntil) {
		return &protocol.Error{Code: protocol.CodeLocked, Message: "too many failed attempts; try again later",
			RetryAfter: int(f.lockedUntil.Sub(now).Seconds()) + 1}
	}
	if l := g.byAddr[addr]; l != nil && l.TokensAt(now) < 1 {
		return &protocol.Error{Code: protocol.CodeRateLimited, Message: "too many failed attempts from this address; try again later",
			RetryAfter: int(g.cfg.AddrRefill.Seconds()) + 1}
	}
	return nil
}

func (g *loginGuard) fail(id, addr string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	f := g.byID[id]
	if f == nil || now.Sub(f.first) > g.cfg.Lockout {
		f = &idFailures{first: now}
		g.byID[id] = f
	}
	f.count++
	if f.count >= g.cfg.MaxFailures {
		f.lockedUntil = now.Add(g.cfg.Lockout)
	}
	l := g.byAddr[addr]
	if l == nil {
		l = rate.NewLimiter(rate.Every(g.cfg.AddrRefill), g.cfg.AddrFailures)
		g.byAddr[addr] = l
	}
	l.AllowN(now, 1)
}

func (g *loginGuard) succeed(id string) {
	g.mu.Lock()
	delete(g.byID, id)
	g.mu.Unlock()
}

// prune forgets entries that no longer limit anything.
func (g *loginGuard) prune() {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	for id, f := range g.byID {
		if now.After(f.lockedUntil) && now.Sub(f.first) > g.cfg.Lockout {
			delete(g.byID, id)
		}
	}
	for addr, l := range g.byAddr {
		if l.TokensAt(now) >= float64(g.cfg.AddrFailures) {
			delete(g.byAddr, addr)
		}
	}
}
