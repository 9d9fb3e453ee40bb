// Package server is Taiwa's sync server: the HTTP API, the live WebSocket
// endpoint, the hub that pushes committed changes to connected apps, and
// the retention sweeper.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/taiwa-chat/taiwa/mobileweb"
	"github.com/taiwa-chat/taiwa/pkg/credential"
	"github.com/taiwa-chat/taiwa/pkg/hours"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/pkg/store"
	"github.com/taiwa-chat/taiwa/pkg/store/sqlite"
	"github.com/taiwa-chat/taiwa/server/internal/push"
)

// Defaults for Config.
const (
	DefaultAddr          = "127.0.0.1:8080"
	DefaultDataDir       = "var"
	DefaultSweepInterval = 30 * time.Second // "at least once a minute", with room
	DefaultSessionTTL    = 30 * 24 * time.Hour
	DefaultSendQueue     = 1024 // frames buffered per connection
	DefaultWriteTimeout  = 10 * time.Second
	DefaultPingInterval  = 30 * time.Second
	DefaultHelloTimeout  = 10 * time.Second
	DefaultMaxFailures   = 5                // failed logins per ID before lockout
	DefaultLockout       = 15 * time.Minute // lockout and counting window
	DefaultAddrFailures  = 20               // failed logins per address in a burst
	DefaultAddrRefill    = 30 * time.Second // one more allowed failure per address per
	DefaultHashers       = 2                // concurrent argon2 hashes (64 MiB each)
	DefaultStaffIdle     = 12 * time.Hour   // a staff session unused this long ends
)

// Config is everything the server needs. Zero fields take the defaults.
type Config struct {
	Addr     string
	DataDir  string
	BaseURL  string // public address, e.g. https://taiwa.example.org
	TLSCert  string
	TLSKey   string
	Logger   *slog.Logger
	Now      func() time.Time // the clock; tests move it
	Password credential.Params

	SweepInterval time.Duration
	SessionTTL    time.Duration
	// StaffIdle ends a staff session (the desktop app) that nobody used for
	// this long: no request, no message, no read mark.
	StaffIdle    time.Duration
	SendQueue    int
	WriteTimeout time.Duration
	PingInterval time.Duration
	HelloTimeout time.Duration
	// HeartbeatTimeout drops a connection whose app pings (protocol.TypePing)
	// but sent nothing for this long; TypingEvery rate-limits typing frames.
	HeartbeatTimeout time.Duration
	TypingEvery      time.Duration
	MaxFailures      int
	Lockout          time.Duration
	AddrFailures     int
	AddrRefill       time.Duration
	// OriginPatterns are extra browser origins allowed to open the live
	// connection (same-origin is always allowed).
	OriginPatterns []string
	// Web serves the client PWA at / and each organisation's at /a/<code>/.
	Web bool
	// Push, if set, tells clients' phones that a reply is waiting.
	Push push.Sender
	// PushWeb, if set, lets the PWA obtain device tokens (it needs Push).
	PushWeb *push.WebConfig
	// MasterKey wraps the keys that seal message bodies; nil keeps one in
	// the data directory (see sqlite.Options.MasterKey).
	MasterKey []byte
}

func (c *Config) fill() {
	def := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Password == (credential.Params{}) {
		c.Password = credential.DefaultParams
	}
	def(&c.SweepInterval, DefaultSweepInterval)
	def(&c.SessionTTL, DefaultSessionTTL)
	def(&c.StaffIdle, DefaultStaffIdle)
	def(&c.WriteTimeout, DefaultWriteTimeout)
	def(&c.PingInterval, DefaultPingInterval)
	def(&c.HelloTimeout, DefaultHelloTimeout)
	def(&c.HeartbeatTimeout, protocol.HeartbeatTimeout)
	def(&c.TypingEvery, protocol.TypingEvery)
	def(&c.Lockout, DefaultLockout)
	def(&c.AddrRefill, DefaultAddrRefill)
	if c.SendQueue == 0 {
		c.SendQueue = DefaultSendQueue
	}
	if c.MaxFailures == 0 {
		c.MaxFailures = DefaultMaxFailures
	}
	if c.AddrFailures == 0 {
		c.AddrFailures = DefaultAddrFailures
	}
}

// Server is a running Taiwa sync server.
type Server struct {
	cfg     Config
	log     *slog.Logger
	store   store.Store
	hub     *hub
	metrics *metrics
	guard   *loginGuard
	hashers chan struct{}
	dummy   string // a hash to verify against when a login ID is unknown

	// closing is closed at shutdown: live connections say goodbye.
	closing   chan struct{}
	closeOnce sync.Once
	live      sync.WaitGroup

	availMu   sync.Mutex
	lastAvail map[int64]hours.Availability

	// touched is when each staff session was last recorded as used: the
	// store is told at most once a minute per session.
	touched sync.Map // session ID → time.Time

	stopPush context.CancelFunc
}

// New opens the store in cfg.DataDir and wires every part.
func New(cfg Config) (*Server, error) {
	cfg.fill()
	m := newMetrics()
	s := &Server{
		cfg:       cfg,
		log:       cfg.Logger,
		hub:       newHub(m),
		metrics:   m,
		guard:     newLoginGuard(cfg),
		hashers:   make(chan struct{}, DefaultHashers),
		closing:   make(chan struct{}),
		lastAvail: map[int64]hours.Availability{},
	}
	st, err := sqlite.Open(cfg.DataDir, sqlite.Options{
		Now:       cfg.Now,
		Publish:   s.hub.publish,
		Logger:    cfg.Logger,
		OnBatch:   m.observeBatch,
		MasterKey: cfg.MasterKey,
		StaffIdle: cfg.StaffIdle,
	})
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	s.store = st
	s.dummy = credential.Hash("not a password", cfg.Password)
	if cfg.Push != nil {
		n := push.NewNotifier(cfg.Push, st, cfg.Logger, 4096)
		ctx, cancel := context.WithCancel(context.Background())
		s.stopPush = cancel
		go n.Run(ctx)
		s.hub.onReply = func(clientID int64) {
			if !n.Notify(clientID) {
				m.pushDropped.Inc()
			}
		}
	}
	return s, nil
}

// Store returns the server's store (for the command line's org and demo
// subcommands, which run without serving).
func (s *Server) Store() store.Store { return s.store }

// Handler returns the HTTP handler with every route.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", s.handle(s.ready))
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{}))

	mux.HandleFunc("POST /api/v1/login", s.handle(s.login))
	mux.HandleFunc("POST /api/v1/logout", s.authed(anyone, s.logout))
	mux.HandleFunc("GET /api/v1/me", s.authed(anyone, s.me))
	mux.HandleFunc("PATCH /api/v1/me", s.authed(staff, s.patchMe))
	mux.HandleFunc("POST /api/v1/me/password", s.authed(staff, s.changePassword))
	mux.HandleFunc("GET /api/v1/me/totp", s.authed(staff, s.totpStatus))
	mux.HandleFunc("POST /api/v1/me/totp", s.authed(staff, s.totpEnroll))
	mux.HandleFunc("POST /api/v1/me/totp/confirm", s.authed(staff, s.totpConfirm))
	mux.HandleFunc("DELETE /api/v1/me/totp", s.authed(staff, s.totpOff))
	mux.HandleFunc("POST /api/v1/staff/{id}/totp/reset", s.authed(admins, s.totpReset))
	mux.HandleFunc("GET /api/v1/org", s.authed(anyone, s.getOrg))
	mux.HandleFunc("PATCH /api/v1/org/settings", s.authed(admins, s.patchSettings))

	mux.HandleFunc("GET /api/v1/clients", s.authed(staff, s.clientData(s.listClients)))
	mux.HandleFunc("POST /api/v1/clients", s.authed(admins, s.createClient))
	mux.HandleFunc("POST /api/v1/clients/bulk", s.authed(admins, s.bulkCreateClients))
	mux.HandleFunc("PATCH /api/v1/clients/{id}", s.authed(admins, s.updateClient))
	mux.HandleFunc("DELETE /api/v1/clients/{id}", s.authed(admins, s.deleteAccount))
	mux.HandleFunc("POST /api/v1/clients/{id}/password", s.authed(admins, s.resetPassword))

	mux.HandleFunc("GET /api/v1/staff", s.authed(staff, s.listStaff))
	mux.HandleFunc("POST /api/v1/staff", s.authed(admins, s.createStaff))
	mux.HandleFunc("DELETE /api/v1/staff/{id}", s.authed(admins, s.deleteAccount))
	mux.HandleFunc("POST /api/v1/staff/{id}/password", s.authed(admins, s.resetPassword))
	mux.HandleFunc("POST /api/v1/accounts/{id}/logout", s.authed(admins, s.forceLogout))
	mux.HandleFunc("GET /api/v1/accounts/{id}/devices", s.authed(admins, s.devices))
	mux.HandleFunc("POST /api/v1/wiped", s.handle(s.wipedAfterEnd))

	mux.HandleFunc("GET /api/v1/conversations", s.authed(anyone, s.clientData(s.listConversations)))
	mux.HandleFunc("GET /api/v1/conversations/{id}/messages", s.authed(anyone, s.clientData(s.history)))
	mux.HandleFunc("POST /api/v1/conversations/{id}/assign", s.authed(staff, s.clientData(s.assign)))
	mux.HandleFunc("GET /api/v1/conversations/{id}/supervise", s.authed(admins, s.supervise))
	mux.HandleFunc("GET /api/v1/audit", s.authed(admins, s.auditLog))

	mux.HandleFunc("GET /api/v1/push/config", s.authed(clients, s.pushConfig))
	mux.HandleFunc("PUT /api/v1/push", s.authed(clients, s.setPushToken))
	mux.HandleFunc("DELETE /api/v1/push", s.authed(clients, s.deletePushToken))

	mux.HandleFunc("GET /api/v1/live", s.liveHandler)
	if s.cfg.Web {
		mux.Handle("GET /", mobileweb.Handler(s.store.AppLook))
	}
	return securityHeaders(mux, s.pushOrigins())
}

// pushOrigins are the only third-party origins the PWA may reach: Firebase's
// token registration, and only when the operator configured push.
func (s *Server) pushOrigins() []string {
	if s.cfg.Push == nil || s.cfg.PushWeb == nil {
		return nil
	}
	return []string{"https://firebaseinstallations.googleapis.com", "https://fcmregistrations.googleapis.com"}
}

// securityHeaders applies to every response: no framing, no sniffing, a
// strict CSP (no inline script, same origin only, plus connectOrigins for
// fetches) and no referrer.
func securityHeaders(next http.Handler, connectOrigins []string) http.Handler {
	csp := "default-src 'self'; connect-src " + strings.Join(append([]string{"'self'"}, connectOrigins...), " ") +
		"; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", csp)
		if r.TLS != nil {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) error {
	select {
	case <-s.closing:
		return &httpError{status: http.StatusServiceUnavailable, code: "unavailable", msg: "shutting down"}
	default:
	}
	if err := s.store.Ping(r.Context()); err != nil {
		s.log.Error("readiness check failed", "err", err)
		return &httpError{status: http.StatusServiceUnavailable, code: "unavailable", msg: "database unavailable"}
	}
	_, err := w.Write([]byte("ready\n"))
	return err
}

// Serve listens on cfg.Addr until ctx ends, then shuts down gracefully:
// live connections are told to go away, in-flight writes finish, and the
// store is closed.
func (s *Server) Serve(ctx context.Context, ready func(addr net.Addr)) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.cfg.Addr, err)
	}
	return s.ServeListener(ctx, ln, ready)
}

// ServeListener is Serve on an existing listener.
func (s *Server) ServeListener(ctx context.Context, ln net.Listener, ready func(addr net.Addr)) error {
	hs := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	sweepCtx, stopSweeper := context.WithCancel(context.Background())
	sweeperDone := make(chan struct{})
	go func() {
		defer close(sweeperDone)
		s.runSweeper(sweepCtx)
	}()

	errc := make(chan error, 1)
	go func() {
		var err error
		if s.cfg.TLSCert != "" {
			err = hs.ServeTLS(ln, s.cfg.TLSCert, s.cfg.TLSKey)
		} else {
			err = hs.Serve(ln)
		}
		if !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
		close(errc)
	}()
	if ready != nil {
		ready(ln.Addr())
	}
	select {
	case <-ctx.Done():
	case err := <-errc:
		stopSweeper()
		<-sweeperDone
		s.Close()
		return fmt.Errorf("serve: %w", err)
	}
	s.log.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	s.beginClose()
	err := hs.Shutdown(shutCtx)
	s.live.Wait() // live handlers finish their in-flight sends
	stopSweeper()
	<-sweeperDone
	if cerr := s.Close(); cerr != nil {
		err = errors.Join(err, cerr)
	}
	return err
}

func (s *Server) beginClose() { s.closeOnce.Do(func() { close(s.closing) }) }

// Close closes the store after finishing queued writes. Serve calls it.
func (s *Server) Close() error {
	s.beginClose()
	if s.stopPush != nil {
		s.stopPush()
	}
	return s.store.Close()
}
