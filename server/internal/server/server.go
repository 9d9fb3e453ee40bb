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
	"net/http/pprof"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/taiwa-chat/taiwa/docs/guide"
	"github.com/taiwa-chat/taiwa/mobileweb"
	"github.com/taiwa-chat/taiwa/pkg/credential"
	"github.com/taiwa-chat/taiwa/pkg/hours"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/push"
	"github.com/taiwa-chat/taiwa/server/internal/store"
)

// Defaults for Config.
const (
	DefaultAddr          = "127.0.0.1:8080"
	DefaultDataDir       = "var"
	DefaultSweepInterval = 30 * time.Second // "at least once a minute", with room
	DefaultSessionTTL    = 30 * 24 * time.Hour
	DefaultSendQueue     = 1024 // frames buffered per client connection
	DefaultWriteTimeout  = 10 * time.Second
	DefaultPingInterval  = 30 * time.Second
	DefaultHelloTimeout  = 10 * time.Second
	DefaultMaxFailures   = 5                // failed attempts per (address, login ID) before lockout
	DefaultIDFailures    = 20               // failed attempts per login ID from all addresses
	DefaultLockout       = 15 * time.Minute // lockout and counting window
	DefaultHashers       = 2                // concurrent argon2 hashes (64 MiB each)
	DefaultStaffIdle     = 12 * time.Hour   // a staff session unused this long ends
	DefaultSharedIdle    = 30 * time.Minute // a shared-device session unused this long ends
	DefaultMetricsAddr   = "127.0.0.1:9464" // /metrics, loopback only
)

// Config is everything the server needs. Zero fields take the defaults.
type Config struct {
	Addr    string
	DataDir string
	BaseURL string // public address, e.g. https://taiwa.example.org
	TLSCert string
	TLSKey  string
	Logger  *slog.Logger
	Now     func() time.Time // the clock; tests move it
	// Password hashes the passwords people choose; Generated the
	// generated one-time ones (see credential.GeneratedParams).
	Password  credential.Params
	Generated credential.Params

	SweepInterval time.Duration
	SessionTTL    time.Duration
	// StaffIdle ends a staff session (the desktop app) that nobody used for
	// this long: no request, no message, no read mark.
	StaffIdle time.Duration
	// SharedIdle does the same for a client's shared-device sign-in (the
	// cookie dies with the browser; the session must not outlive it long).
	SharedIdle time.Duration
	// SendQueue bounds the frames queued for a client's connection; a
	// staff connection, which carries every message of its organisation,
	// holds staffQueueFactor times as many.
	SendQueue int
	// HTTPTimeouts bound HTTP requests; WriteTimeout bounds each write to
	// a live connection.
	HTTPTimeouts HTTPTimeouts
	WriteTimeout time.Duration
	PingInterval time.Duration
	HelloTimeout time.Duration
	// HeartbeatTimeout drops a connection whose app pings (protocol.TypePing)
	// but sent nothing for this long; TypingEvery rate-limits typing frames.
	HeartbeatTimeout time.Duration
	TypingEvery      time.Duration
	// BusyAfter refuses a send as busy (unavailable, with retry_after)
	// when it would wait longer than this for its commit (see backlog).
	BusyAfter time.Duration
	// MaxFailures locks a login ID for one address, IDFailures for all
	// addresses, after that many failures within Lockout (see loginGuard).
	MaxFailures int
	IDFailures  int
	Lockout     time.Duration
	// Hashers bounds the password hashes running at once.
	Hashers int
	// TrustedProxies are the reverse proxies whose X-Forwarded-For,
	// Forwarded and X-Forwarded-Proto headers are believed; from anyone
	// else they are ignored.
	TrustedProxies []netip.Prefix
	// ProxyHeader is the header those proxies set: "X-Forwarded-For" (with
	// X-Forwarded-Proto; the default) or "Forwarded". Only that one is read.
	ProxyHeader string
	// MetricsAddr is where /metrics is served, apart from the public
	// address; "off" serves none. Empty means DefaultMetricsAddr, where a
	// port already taken (another server on the machine) is logged and
	// skipped; a chosen address that cannot be had stops the start.
	MetricsAddr string
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
	// DB, if set, is a PostgreSQL address (postgres://…): the store is
	// PostgreSQL, shared with other replicas, instead of SQLite in DataDir.
	DB string
	// KEKDir is where a PostgreSQL store keeps its key-encryption keys,
	// outside the database; every replica names the same directory.
	// Empty means DataDir/kek.
	KEKDir string
	// KEKRotation is how often they rotate (postgres.DefaultKEKRotation).
	KEKRotation time.Duration
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
	if c.Generated == (credential.Params{}) {
		c.Generated = credential.GeneratedParams
	}
	def(&c.SweepInterval, DefaultSweepInterval)
	def(&c.SessionTTL, DefaultSessionTTL)
	def(&c.StaffIdle, DefaultStaffIdle)
	def(&c.SharedIdle, DefaultSharedIdle)
	def(&c.WriteTimeout, DefaultWriteTimeout)
	def(&c.PingInterval, DefaultPingInterval)
	def(&c.HelloTimeout, DefaultHelloTimeout)
	def(&c.HeartbeatTimeout, protocol.HeartbeatTimeout)
	def(&c.BusyAfter, DefaultBusyAfter)
	def(&c.TypingEvery, protocol.TypingEvery)
	def(&c.Lockout, DefaultLockout)
	if c.HTTPTimeouts == (HTTPTimeouts{}) {
		c.HTTPTimeouts = DefaultHTTPTimeouts
	}
	if c.SendQueue == 0 {
		c.SendQueue = DefaultSendQueue
	}
	if c.MaxFailures == 0 {
		c.MaxFailures = DefaultMaxFailures
	}
	if c.IDFailures == 0 {
		c.IDFailures = DefaultIDFailures
	}
	if c.Hashers == 0 {
		c.Hashers = DefaultHashers
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
	backlog backlog // the sends waiting for their commits
	// callbacks are the connections to call back when the backlog has
	// room again.
	callbacks callbacks
	deep      *deepWorkers
	settler   settler
	// hashers bounds the hashes that are not sign-ins (new accounts'
	// passwords) to one fewer than Config.Hashers: sign-ins keep a slot.
	hashers chan struct{}
	dummy   string // a hash to verify against when a login ID is unknown
	// failFloor is how long a failed sign-in takes at least (see New).
	failFloor time.Duration

	// closing is closed at shutdown: live connections say goodbye.
	closing chan struct{}
	// pumpTicks is the beat at which idle connections' writers stop.
	pumpTicks ticks
	closeOnce sync.Once
	live      sync.WaitGroup

	availMu   sync.Mutex
	lastAvail map[int64]hours.Availability

	// touched is when each staff session was last recorded as used: the
	// store is told at most once a minute per session.
	touched sync.Map // session ID → time.Time

	stopPush context.CancelFunc
	// typingRelay, with several replicas, carries typing hints to the
	// others' connections.
	typingRelay store.TypingRelay
	// presence, with several replicas, shares who is connected.
	presence     *presenceWorker
	stopPresence context.CancelFunc
}

// New opens the store in cfg.DataDir and wires every part.
func New(cfg Config) (*Server, error) {
	cfg.fill()
	m := newMetrics()
	s := &Server{
		cfg:       cfg,
		log:       cfg.Logger,
		hub:       newHub(m, cfg.Now),
		metrics:   m,
		guard:     newLoginGuard(cfg),
		hashers:   make(chan struct{}, max(1, cfg.Hashers-1)),
		closing:   make(chan struct{}),
		pumpTicks: ticks{every: pumpLinger},
		lastAvail: map[int64]hours.Availability{},
		deep:      newDeepWorkers(10 * time.Second),
	}
	st, err := openStore(cfg, s.hub, func(n int, d time.Duration) {
		m.observeBatch(n, d)
		s.backlog.observe(n, d)
		s.callBack(time.Now())
	})
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	s.store = st
	if shared, ok := st.(store.LoginFailures); ok {
		s.guard.shared = shared // several replicas: the limits hold across them
	}
	if relay, ok := st.(store.TypingRelay); ok {
		s.typingRelay = relay
	}
	// Unknown login IDs are checked against a dummy as cheap as a client's
	// hash; every failed sign-in then takes at least as long as checking a
	// chosen (costlier) password, so that the time does not tell which
	// login IDs exist or whose password was chosen.
	s.dummy = credential.Hash("not a password", cfg.Generated)
	start := time.Now()
	credential.Hash("not a password", cfg.Password)
	s.failFloor = time.Since(start)
	if pres, ok := st.(store.Presence); ok {
		// Several replicas: who is connected is shared through the store.
		s.presence = newPresenceWorker(pres, cfg.Logger)
		s.hub.onPresence = s.presence.note
		ctx, cancel := context.WithCancel(context.Background())
		s.stopPresence = cancel
		go s.presence.run(ctx)
	}
	if cfg.Push != nil {
		n := push.NewNotifier(cfg.Push, st, cfg.Logger, 4096)
		ctx, cancel := context.WithCancel(context.Background())
		s.stopPush = cancel
		go n.Run(ctx)
		notify := func(clientID int64) {
			if !n.Notify(clientID) {
				m.pushDropped.Inc()
			}
		}
		s.hub.onReply = notify
		s.hub.onNews = func(clientID int64) {
			if !n.NotifyKind(clientID, push.KindNews) {
				m.pushDropped.Inc()
			}
		}
		if s.presence != nil {
			s.presence.notify = notify
			s.hub.onReply = s.presence.reply // connected to another replica: no push
		}
	}
	return s, nil
}

// Store returns the server's store (for the command line's org and demo
// subcommands, which run without serving).
func (s *Server) Store() store.Store { return s.store }

// route is one route of the API: a method and path pattern of
// net/http's mux, and its handler. docs/protocol.md documents each one (a
// test checks it).
type route struct {
	pattern string
	handler http.HandlerFunc
}

// apiRoutes is every route under /api/v1/.
func (s *Server) apiRoutes() []route {
	return []route{
		{"POST /api/v1/login", s.handle(s.login)},
		{"POST /api/v1/logout", s.authed(anyone, s.logout)},
		{"GET /api/v1/me", s.authed(anyone, s.me)},
		{"PATCH /api/v1/me", s.authed(staff, s.patchMe)},
		{"POST /api/v1/me/password", s.authed(staffOrRegistr, s.changePassword)},
		{"GET /api/v1/me/totp", s.authed(staff, s.totpStatus)},
		{"POST /api/v1/me/totp", s.authed(staff, s.totpEnroll)},
		{"POST /api/v1/me/totp/confirm", s.authed(staff, s.totpConfirm)},
		{"DELETE /api/v1/me/totp", s.authed(staff, s.totpOff)},
		{"POST /api/v1/staff/{id}/totp/reset", s.authed(admins, s.totpReset)},
		{"GET /api/v1/org", s.authed(anyone, s.getOrg)},
		{"PATCH /api/v1/org/settings", s.authed(admins, s.patchSettings)},

		{"GET /api/v1/clients", s.authed(staffOrRegistr, s.clientData(s.listClients))},
		{"POST /api/v1/clients", s.authed(clientManagers, s.createClient)},
		{"POST /api/v1/clients/bulk", s.authed(clientManagers, s.bulkCreateClients)},
		{"PATCH /api/v1/clients/{id}", s.authed(admins, s.updateClient)},
		{"DELETE /api/v1/clients/{id}", s.authed(clientManagers, s.deleteAccount)},
		{"POST /api/v1/clients/{id}/password", s.authed(clientManagers, s.resetPassword)},
		{"GET /api/v1/groups", s.authed(staffOrRegistr, s.listGroups)},
		{"POST /api/v1/groups", s.authed(admins, s.createGroup)},
		{"PATCH /api/v1/groups/{id}", s.authed(admins, s.updateGroup)},

		{"GET /api/v1/staff", s.authed(staff, s.listStaff)},
		{"POST /api/v1/staff", s.authed(admins, s.createStaff)},
		{"DELETE /api/v1/staff/{id}", s.authed(admins, s.deleteAccount)},
		{"POST /api/v1/staff/{id}/password", s.authed(admins, s.resetPassword)},
		{"POST /api/v1/accounts/{id}/logout", s.authed(admins, s.forceLogout)},
		{"GET /api/v1/accounts/{id}/devices", s.authed(admins, s.devices)},
		{"POST /api/v1/wiped", s.handle(s.wipedAfterEnd)},

		{"GET /api/v1/conversations", s.authed(people, s.clientData(s.listConversations))},
		{"GET /api/v1/conversations/{id}/messages", s.authed(people, s.clientData(s.history))},
		{"POST /api/v1/conversations/{id}/assign", s.authed(staff, s.clientData(s.assign))},
		{"POST /api/v1/conversations/{id}/claim", s.authed(staff, s.clientData(s.claim))},
		{"GET /api/v1/conversations/{id}/preview", s.authed(staff, s.clientData(s.preview))},
		{"POST /api/v1/conversations/{id}/transfer", s.authed(staff, s.clientData(s.transfer))},
		{"POST /api/v1/conversations/{id}/end", s.authed(staff, s.clientData(s.end))},
		{"GET /api/v1/conversations/{id}/supervise", s.authed(admins, s.supervise)},
		{"PUT /api/v1/conversations/{id}/progress", s.authed(staff, s.clientData(s.setProgress))},
		{"PUT /api/v1/clients/{id}/note", s.authed(staff, s.clientData(s.setClientNote))},
		{"POST /api/v1/conversations/{id}/attachments", s.authed(people, s.clientData(s.uploadAttachment))},
		{"GET /api/v1/attachments/{id}", s.authed(people, s.clientData(s.getAttachment))},
		{"GET /api/v1/templates", s.authed(staff, s.listTemplates)},
		{"POST /api/v1/templates", s.authed(staff, s.createTemplate)},
		{"PUT /api/v1/templates/{id}", s.authed(staff, s.updateTemplate)},
		{"DELETE /api/v1/templates/{id}", s.authed(staff, s.deleteTemplate)},
		{"GET /api/v1/nominees", s.authed(people, s.nominees)},
		{"POST /api/v1/nominate", s.authed(clients, s.nominate)},
		{"GET /api/v1/audit", s.authed(admins, s.auditLog)},
		{"GET /api/v1/stats/unanswered", s.authed(admins, s.unansweredWeeks)},
		{"GET /api/v1/stats/groups", s.authed(admins, s.groupUsage)},

		{"GET /api/v1/apikeys", s.authed(admins, s.listAPIKeys)},
		{"POST /api/v1/apikeys", s.authed(admins, s.createAPIKey)},
		{"DELETE /api/v1/apikeys/{id}", s.authed(admins, s.revokeAPIKey)},
		// The provisioning API: API keys, not sessions (provision.go).
		{"POST /api/v1/provision/clients", s.keyed(s.provisionClient)},
		{"PATCH /api/v1/provision/clients/{id}", s.keyed(s.updateProvisioned)},
		{"DELETE /api/v1/provision/clients/{id}", s.keyed(s.deleteProvisioned)},
		{"GET /api/v1/announcements", s.authed(people, s.listAnnouncements)},
		{"POST /api/v1/announcements", s.authed(admins, s.createAnnouncement)},
		{"DELETE /api/v1/announcements/{id}", s.authed(admins, s.deleteAnnouncement)},

		{"GET /api/v1/push/config", s.authed(clients, s.pushConfig)},
		{"PUT /api/v1/push", s.authed(clients, s.setPushToken)},
		{"DELETE /api/v1/push", s.authed(clients, s.deletePushToken)},

		{"GET /api/v1/live", s.liveHandler},
	}
}

// Handler returns the HTTP handler with every route. /metrics is not
// among them: it is served on its own address (MetricsHandler).
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", s.handle(s.ready))
	for _, rt := range s.apiRoutes() {
		mux.HandleFunc(rt.pattern, rt.handler)
	}
	// Anything else under /api/ answers in the documented error shape (one
	// pattern per method: a method-less one would conflict with "GET /").
	noRoute := s.handle(func(w http.ResponseWriter, r *http.Request) error { return s.noRoute(mux, w, r) })
	for _, m := range routeMethods {
		mux.HandleFunc(m+" /api/", noRoute)
	}
	if s.cfg.Web {
		mux.Handle("GET /", mobileweb.Handler(s.store.AppLook))
		// The guides for counselors, admins and clients (issue 18): the
		// desktop's help menu and the client app link here, never outside.
		guides := guide.Handler()
		mux.Handle("GET /guide", guides)
		mux.Handle("GET /guide/", guides)
	}
	// Methods no pattern can name (TRACE, CONNECT, made-up ones) get the
	// documented JSON answer under /api/ too.
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/") && r.Method != http.MethodHead && !slices.Contains(routeMethods, r.Method) {
			s.handle(func(w http.ResponseWriter, r *http.Request) error { return s.noRoute(mux, w, r) })(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
	return securityHeaders(api, s.pushOrigins(), s.isHTTPS)
}

// MetricsHandler serves /metrics (Prometheus) and the runtime's profiles
// under /debug/pprof/ (CPU, heap, allocations, goroutines: where the time
// and memory go under real load, docs/bench.md). It shows when clients
// are connected and writing, so it is served apart from the public
// address. The profiles hold code locations and sizes, never a message;
// pprof's cmdline and trace are left out (a command line can carry a
// database password).
func (s *Server) MetricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	for _, name := range []string{"heap", "allocs", "goroutine", "mutex", "block"} {
		mux.Handle("GET /debug/pprof/"+name, pprof.Handler(name))
	}
	return mux
}

// routeMethods are the methods the API answers in its own words (GET
// patterns answer HEAD too).
var routeMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions}

// noRoute answers a request no API route matched: 405 with Allow when the
// path exists with other methods, else 404, both as JSON errors.
func (s *Server) noRoute(mux *http.ServeMux, w http.ResponseWriter, r *http.Request) error {
	var allow []string
	for _, m := range routeMethods {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := mux.Handler(probe); pattern != "" && !strings.HasSuffix(pattern, " /api/") && pattern != "GET /" {
			allow = append(allow, m)
		}
	}
	if len(allow) == 0 {
		return protocol.Errorf(protocol.CodeNotFound, "no such route: %s", r.URL.Path)
	}
	w.Header().Set("Allow", strings.Join(allow, ", "))
	return protocol.Errorf(protocol.CodeMethodNotAllowed, "%s is not allowed here; use %s", r.Method, strings.Join(allow, " or "))
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
// fetches), no referrer, and HSTS wherever the browser came over TLS.
func securityHeaders(next http.Handler, connectOrigins []string, https func(*http.Request) bool) http.Handler {
	csp := "default-src 'self'; connect-src " + strings.Join(append([]string{"'self'"}, connectOrigins...), " ") +
		"; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", csp)
		if https(r) {
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
	hs := s.httpServer(s.Handler())
	stopMetrics, err := s.serveMetrics()
	if err != nil {
		ln.Close()
		return err
	}
	defer stopMetrics()
	sweepCtx, stopSweeper := context.WithCancel(context.Background())
	sweeperDone := make(chan struct{})
	go func() {
		defer close(sweeperDone)
		s.runSweeper(sweepCtx)
	}()
	go s.settler.run(sweepCtx, time.Second)

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
	err = hs.Shutdown(shutCtx)
	s.live.Wait() // live handlers finish their in-flight sends
	stopSweeper()
	<-sweeperDone
	if cerr := s.Close(); cerr != nil {
		err = errors.Join(err, cerr)
	}
	return err
}

// HTTPTimeouts bound each HTTP connection: a slow or silent peer cannot
// hold a connection (and its goroutine) forever. The live endpoint clears
// Read and Write for its connection once it is a WebSocket, which has its
// own (pings, per-write timeouts).
type HTTPTimeouts struct {
	ReadHeader time.Duration // the request line and headers
	Read       time.Duration // a whole request, body included (≤ 256 KiB)
	Write      time.Duration // a whole answer
	Idle       time.Duration // between requests on a kept-alive connection
}

// DefaultHTTPTimeouts are generous for a phone on a slow network.
var DefaultHTTPTimeouts = HTTPTimeouts{ReadHeader: 10 * time.Second, Read: 30 * time.Second, Write: 60 * time.Second, Idle: 2 * time.Minute}

func (s *Server) httpServer(h http.Handler) *http.Server {
	t := s.cfg.HTTPTimeouts
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}

// serveMetrics serves /metrics on Config.MetricsAddr until stop is called.
func (s *Server) serveMetrics() (stop func(), err error) {
	addr := s.cfg.MetricsAddr
	switch addr {
	case "off":
		return func() {}, nil
	case "":
		addr = DefaultMetricsAddr
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil && s.cfg.MetricsAddr == "" {
		s.log.Warn("metrics not served: the default address is taken; choose one with --metrics-addr", "addr", addr, "err", err)
		return func() {}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listen for metrics on %s (--metrics-addr, or off): %w", addr, err)
	}
	hs := s.httpServer(s.MetricsHandler())
	go func() {
		if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("metrics server stopped", "err", err)
		}
	}()
	s.log.Info("metrics served", "addr", ln.Addr().String())
	return func() { hs.Close() }, nil
}

func (s *Server) beginClose() {
	s.closeOnce.Do(func() {
		close(s.closing)
		s.hub.wakeAll() // live connections say goodbye
	})
}

// Close closes the store after finishing queued writes. Serve calls it.
func (s *Server) Close() error {
	s.beginClose()
	if s.stopPush != nil {
		s.stopPush()
	}
	if s.stopPresence != nil {
		s.stopPresence()
	}
	return s.store.Close()
}
