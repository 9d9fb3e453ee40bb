package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/credential"
	"github.com/taiwa-chat/taiwa/pkg/keychain"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/push"
	"github.com/taiwa-chat/taiwa/server/internal/sealkeys"
	"github.com/taiwa-chat/taiwa/server/internal/server"
	"github.com/taiwa-chat/taiwa/server/internal/store"
	"github.com/taiwa-chat/taiwa/server/internal/store/sqlite"
)

// version is set by the build (-ldflags "-X main.version=…").
var version = "dev"

const usage = `usage: taiwa <command> [flags]

commands:
  serve                           run the sync server
  org create --name N --admin ID  create an organisation and its first admin
  org add-admin --org ID --admin LOGIN
                                  add an admin to an organisation (recovery)
  demo                            create a demo organisation on first run
  version                         print the version

Every command takes --data DIR (TAIWA_DATA, default ./var).
Run "taiwa <command> -h" for its flags.
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = serve(ctx, args[1:], stdout, stderr)
	case "org":
		switch {
		case len(args) >= 2 && args[1] == "create":
			err = orgCreate(ctx, args[2:], stdout, stderr)
		case len(args) >= 2 && args[1] == "add-admin":
			err = orgAddAdmin(ctx, args[2:], stdout, stderr)
		default:
			fmt.Fprint(stderr, "usage: taiwa org create --name N --admin LOGIN\n       taiwa org add-admin --org ID --admin LOGIN\n")
			return 2
		}
	case "demo":
		err = demo(ctx, args[1:], stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "taiwa", version)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "taiwa:", err)
		return 1
	}
	return 0
}

// envInUsage finds the TAIWA_ variable a flag's usage names.
var envInUsage = regexp.MustCompile(`\(TAIWA_([A-Z0-9_]+)`)

// parseFlags sets each flag from the TAIWA_ variable its usage names, then
// from the command line (which wins). A malformed value in either is an
// error at start, never a silent default.
func parseFlags(fs *flag.FlagSet, args []string) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		m := envInUsage.FindStringSubmatch(f.Usage)
		if m == nil || err != nil {
			return
		}
		if v, ok := os.LookupEnv("TAIWA_" + m[1]); ok {
			if serr := fs.Set(f.Name, v); serr != nil {
				err = fmt.Errorf("TAIWA_%s=%q: %w", m[1], v, serr)
			}
		}
	})
	if err != nil {
		return err
	}
	return fs.Parse(args)
}

// prefixList is a flag of comma-separated CIDR prefixes (or single
// addresses).
type prefixList []netip.Prefix

func (p *prefixList) String() string {
	parts := make([]string, len(*p))
	for i, v := range *p {
		parts[i] = v.String()
	}
	return strings.Join(parts, ",")
}

func (p *prefixList) Set(v string) error {
	*p = nil
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if !strings.Contains(part, "/") {
			ip, err := netip.ParseAddr(part)
			if err != nil {
				return fmt.Errorf("%q is not an address or CIDR prefix", part)
			}
			*p = append(*p, netip.PrefixFrom(ip, ip.BitLen()))
			continue
		}
		pre, err := netip.ParsePrefix(part)
		if err != nil {
			return fmt.Errorf("%q is not an address or CIDR prefix", part)
		}
		*p = append(*p, pre.Masked())
	}
	return nil
}

// commonFlags are shared by every subcommand.
type commonFlags struct {
	data           string
	db             string
	kekDir         string
	kekRotation    time.Duration
	logLevel       string
	masterKeyFile  string
	masterKeychain bool
}

func newFlagSet(name string, stderr io.Writer, c *commonFlags) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.data, "data", server.DefaultDataDir, "data directory (TAIWA_DATA)")
	fs.StringVar(&c.db, "db", "", "PostgreSQL address (postgres://…) shared by several replicas; empty: SQLite in the data directory (TAIWA_DB)")
	fs.StringVar(&c.kekDir, "kek-dir", "", "with --db: directory of the key-encryption keys, outside the database and its backups, the same for every replica (TAIWA_KEK_DIR; default DATA/kek)")
	fs.DurationVar(&c.kekRotation, "kek-rotation", 0, "with --db: how often key-encryption keys rotate; deleted messages are unreadable in every copy of the database this long (plus a sweep) after deletion (TAIWA_KEK_ROTATION; default 1h)")
	fs.StringVar(&c.logLevel, "log-level", "info", "debug, info, warn or error (TAIWA_LOG_LEVEL)")
	fs.StringVar(&c.masterKeyFile, "master-key-file", "",
		"file with the 32-byte master key that wraps the message keys, created if missing; keep it off the data directory's backups (TAIWA_MASTER_KEY_FILE)")
	fs.BoolVar(&c.masterKeychain, "master-key-keychain", false,
		"keep the master key in the OS keychain instead of a file (TAIWA_MASTER_KEY_KEYCHAIN=true)")
	return fs
}

// masterKey finds the master key the flags name. Without either flag it
// is nil: the store then keeps one in the data directory, which protects
// a copy of the database alone but not a copy of the whole directory.
func (c *commonFlags) masterKey(log *slog.Logger) ([]byte, error) {
	switch {
	case c.masterKeyFile != "" && c.masterKeychain:
		return nil, errors.New("--master-key-file and --master-key-keychain exclude each other")
	case c.masterKeyFile != "":
		k, err := sealkeys.LoadOrCreate(c.masterKeyFile)
		if err != nil {
			return nil, fmt.Errorf("--master-key-file: %w", err)
		}
		return k, nil
	case c.masterKeychain:
		dir, err := filepath.Abs(c.data)
		if err != nil {
			return nil, fmt.Errorf("data directory: %w", err)
		}
		k, err := keychain.CacheKey(keychain.OS{Service: "org.taiwa.server"}, "master-key "+dir)
		if err != nil {
			return nil, fmt.Errorf("--master-key-keychain: %w", err)
		}
		return k, nil
	}
	log.Warn("the master key is kept in the data directory: a copy of the whole directory can read unexpired messages; use --master-key-file or --master-key-keychain",
		"file", filepath.Join(c.data, sqlite.MasterKeyFile))
	return nil, nil
}

func (c *commonFlags) logger(stderr io.Writer) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl})), nil
}

// open prepares the data directory and the server (without serving),
// with the logger the flags ask for unless cfg already has one.
func (c *commonFlags) open(cfg server.Config, stderr io.Writer) (*server.Server, error) {
	if cfg.Logger == nil {
		log, err := c.logger(stderr)
		if err != nil {
			return nil, err
		}
		cfg.Logger = log
	}
	if err := os.MkdirAll(c.data, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	cfg.DataDir = c.data
	if c.db != "" && !server.IsPostgres(c.db) {
		return nil, fmt.Errorf("--db %q: only postgres:// addresses (leave it empty for SQLite)", c.db)
	}
	if c.kekRotation < 0 || c.kekRotation > 0 && c.kekRotation < time.Minute {
		return nil, errors.New("--kek-rotation must be at least 1m")
	}
	cfg.DB, cfg.KEKDir, cfg.KEKRotation = c.db, c.kekDir, c.kekRotation
	key, err := c.masterKey(cfg.Logger)
	if err != nil {
		return nil, err
	}
	cfg.MasterKey = key
	return server.New(cfg)
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		c   commonFlags
		cfg server.Config
	)
	fs := newFlagSet("serve", stderr, &c)
	fs.StringVar(&cfg.Addr, "addr", server.DefaultAddr, "listen address (TAIWA_ADDR)")
	fs.StringVar(&cfg.BaseURL, "base-url", "", "public URL of this server, e.g. https://taiwa.example.org (TAIWA_BASE_URL)")
	fs.StringVar(&cfg.TLSCert, "tls-cert", "", "TLS certificate file (TAIWA_TLS_CERT)")
	fs.StringVar(&cfg.TLSKey, "tls-key", "", "TLS key file (TAIWA_TLS_KEY)")
	fs.DurationVar(&cfg.StaffIdle, "staff-idle-timeout", server.DefaultStaffIdle, "end a desktop (staff) session nobody used for this long (TAIWA_STAFF_IDLE_TIMEOUT)")
	fs.DurationVar(&cfg.SharedIdle, "shared-idle-timeout", server.DefaultSharedIdle, "end a client's shared-device sign-in nobody used for this long (TAIWA_SHARED_IDLE_TIMEOUT)")
	fs.DurationVar(&cfg.BusyAfter, "busy-after", server.DefaultBusyAfter, "refuse a send as busy (the apps send it again later) when it would wait longer than this for its commit (TAIWA_BUSY_AFTER)")
	sweep := fs.Duration("sweep-interval", server.DefaultSweepInterval, "retention sweep interval, at most 1m (TAIWA_SWEEP_INTERVAL)")
	var proxies prefixList
	fs.Var(&proxies, "trusted-proxies", "reverse proxies whose X-Forwarded-For/Forwarded/X-Forwarded-Proto headers are believed, comma-separated CIDR prefixes, e.g. 127.0.0.1/32 (TAIWA_TRUSTED_PROXIES)")
	fs.StringVar(&cfg.ProxyHeader, "proxy-header", "X-Forwarded-For", "the header the trusted proxies set: X-Forwarded-For (with X-Forwarded-Proto) or Forwarded; only that one is read (TAIWA_PROXY_HEADER)")
	fs.StringVar(&cfg.MetricsAddr, "metrics-addr", "", "address for /metrics, apart from the public one; \"off\" for none (TAIWA_METRICS_ADDR; default "+server.DefaultMetricsAddr+")")
	origins := fs.String("origins", "", "extra allowed browser origins for the live connection, comma-separated host patterns (TAIWA_ORIGINS)")
	fcm := fs.String("fcm-credentials", "", "Firebase service-account JSON file; without it push notifications are off (TAIWA_FCM_CREDENTIALS)")
	fcmWeb := fs.String("fcm-web-config", "", "Firebase web app config JSON with the Web Push key (vapidKey), for the client app to register phones (TAIWA_FCM_WEB_CONFIG)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg.TrustedProxies = proxies
	if !strings.EqualFold(cfg.ProxyHeader, "X-Forwarded-For") && !strings.EqualFold(cfg.ProxyHeader, "Forwarded") {
		return fmt.Errorf("--proxy-header must be X-Forwarded-For or Forwarded, not %q", cfg.ProxyHeader)
	}
	for _, p := range proxies {
		if p.Bits() == 0 {
			return fmt.Errorf("--trusted-proxies %s trusts every address: anyone could choose the address sign-in limits see; name your proxies", p)
		}
	}
	// Use is recorded at most once a minute: a shorter idle limit would
	// end sessions that are in use.
	if cfg.BusyAfter < 100*time.Millisecond {
		return fmt.Errorf("--busy-after must be at least 100ms (below it a commit's own fsync would count as busy), not %s", cfg.BusyAfter)
	}
	for name, d := range map[string]time.Duration{"--staff-idle-timeout": cfg.StaffIdle, "--shared-idle-timeout": cfg.SharedIdle} {
		if d < 5*time.Minute {
			return fmt.Errorf("%s must be at least 5m (use is recorded once a minute), not %s", name, d)
		}
	}
	if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	if *sweep <= 0 || *sweep > time.Minute {
		return errors.New("--sweep-interval must be between 0 and 1m: retention promises deletion within a minute")
	}
	cfg.SweepInterval = *sweep
	if *origins != "" {
		cfg.OriginPatterns = strings.Split(*origins, ",")
	}
	cfg.Web = true
	log, err := c.logger(stderr)
	if err != nil {
		return err
	}
	switch {
	case *fcm == "" && *fcmWeb != "":
		return errors.New("--fcm-web-config needs --fcm-credentials: phones could register but nothing would be sent")
	case *fcm == "":
		log.Info("push notifications are off: no --fcm-credentials given")
	default:
		sender, err := push.NewFCM(ctx, *fcm)
		if err != nil {
			return fmt.Errorf("--fcm-credentials: %w", err)
		}
		cfg.Push = sender
		if *fcmWeb == "" {
			log.Warn("push notifications are on but phones cannot turn them on: no --fcm-web-config given")
			break
		}
		if cfg.PushWeb, err = push.LoadWebConfig(*fcmWeb); err != nil {
			return fmt.Errorf("--fcm-web-config: %w", err)
		}
	}
	cfg.Logger = log
	srv, err := c.open(cfg, stderr)
	if err != nil {
		return err
	}
	scheme := "http"
	if cfg.TLSCert != "" {
		scheme = "https"
	}
	return srv.Serve(ctx, func(addr net.Addr) {
		u := fmt.Sprintf("%s://%s", scheme, addr)
		if cfg.BaseURL != "" {
			u = cfg.BaseURL
		}
		fmt.Fprintf(stdout, "Taiwa is serving on %s://%s (data in %s)\nClients open the app at %s/\n", scheme, addr, c.data, strings.TrimSuffix(u, "/"))
	})
}

func orgCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c commonFlags
	fs := newFlagSet("org create", stderr, &c)
	name := fs.String("name", "", "organisation name, shown to clients")
	admin := fs.String("admin", "", "login ID for the first admin")
	nick := fs.String("admin-name", "管理者", "the admin's display name")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if strings.TrimSpace(*name) == "" || strings.TrimSpace(*admin) == "" {
		return errors.New("--name and --admin are required")
	}
	login, err := checkLoginID(*admin)
	if err != nil {
		return err
	}
	srv, err := c.open(server.Config{}, stderr)
	if err != nil {
		return err
	}
	defer srv.Close()
	// Check the login ID first, so that a taken one leaves no organisation
	// without an admin behind.
	if _, err := srv.Store().AccountByLogin(ctx, login); err == nil {
		return fmt.Errorf("login ID %q is already taken", login)
	}
	org, err := srv.Store().CreateOrg(ctx, *name)
	if err != nil {
		return fmt.Errorf("create organisation: %w", err)
	}
	fmt.Fprintf(stdout, "Organisation %q created (id %d).\n\n", *name, org.ID)
	return addAdmin(ctx, srv, org.ID, login, *nick, stdout)
}

// addAdmin creates an admin as the operator and prints its one-time
// password, the only time it is shown.
func addAdmin(ctx context.Context, srv *server.Server, orgID int64, login, nick string, stdout io.Writer) error {
	cred, err := srv.NewCredentials(ctx, store.Principal{}, store.NewAccount{OrgID: orgID, Role: protocol.RoleAdmin, LoginID: login, Nickname: nick})
	if err != nil {
		return fmt.Errorf("create admin: %w", err)
	}
	fmt.Fprintf(stdout, "Admin login ID:  %s\nOne-time password: %s\n\nThe password is shown only now. Hand it over in person or in a sealed letter.\n",
		cred.LoginID, cred.Password)
	return nil
}

// orgAddAdmin gives an organisation another admin: the operator's way
// back in when its admins are gone or locked out.
func orgAddAdmin(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c commonFlags
	fs := newFlagSet("org add-admin", stderr, &c)
	orgID := fs.Int64("org", 0, "the organisation's ID (shown by org create)")
	admin := fs.String("admin", "", "login ID for the new admin")
	nick := fs.String("admin-name", "管理者", "the admin's display name")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *orgID <= 0 || strings.TrimSpace(*admin) == "" {
		return errors.New("--org and --admin are required")
	}
	login, err := checkLoginID(*admin)
	if err != nil {
		return err
	}
	srv, err := c.open(server.Config{}, stderr)
	if err != nil {
		return err
	}
	defer srv.Close()
	if _, err := srv.Store().Org(ctx, *orgID); err != nil {
		return fmt.Errorf("organisation %d: %w", *orgID, err)
	}
	fmt.Fprintf(stdout, "Adding an admin to organisation %d.\n\n", *orgID)
	return addAdmin(ctx, srv, *orgID, login, *nick, stdout)
}

// checkLoginID normalises a login ID chosen at the command line.
func checkLoginID(s string) (string, error) {
	login := credential.NormalizeLoginID(s)
	if len(login) < 3 || len(login) > 64 || strings.ContainsAny(login, " \t\n") {
		return "", errors.New("--admin: login ID must be 3 to 64 characters without spaces")
	}
	return login, nil
}

func demo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c commonFlags
	fs := newFlagSet("demo", stderr, &c)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	srv, err := c.open(server.Config{}, stderr)
	if err != nil {
		return err
	}
	defer srv.Close()
	n, err := srv.Store().OrgCount(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		fmt.Fprintf(stdout, "Demo data already exists in %s; its passwords were shown on the first run.\nTo start over, stop the server and delete %s.\n", c.data, c.data)
		return nil
	}
	org, err := srv.Store().CreateOrg(ctx, "デモ相談室")
	if err != nil {
		return fmt.Errorf("create demo organisation: %w", err)
	}
	people := []store.NewAccount{
		{OrgID: org.ID, Role: protocol.RoleAdmin, LoginID: "admin", Nickname: "管理者"},
		{OrgID: org.ID, Role: protocol.RoleClient, Nickname: "さくら"},
		{OrgID: org.ID, Role: protocol.RoleClient, Nickname: "ひなた"},
		{OrgID: org.ID, Role: protocol.RoleClient, Nickname: "そら"},
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Demo organisation %q created. Passwords are shown only now:\n\n", "デモ相談室")
	fmt.Fprintln(tw, "ROLE\tLOGIN ID\tPASSWORD\tNICKNAME")
	for _, p := range people {
		cred, err := srv.NewCredentials(ctx, store.Principal{}, p)
		if err != nil {
			return fmt.Errorf("create demo account: %w", err)
		}
		// Nicknames last: wide characters would skew the columns after them.
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.Role, cred.LoginID, cred.Password, p.Nickname)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "\nClients open the organisation's app at %s on the server (the server's own address works too).\n", org.AppPath)
	return err
}
