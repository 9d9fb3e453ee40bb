// Package devcluster runs Taiwa as a cluster on loopback: a throwaway
// PostgreSQL (pgcluster), several replicas of the real server binary on
// it, and Debian's nginx in front with WebSocket proxying, as docs/deploy.md
// describes for production. make run-cluster, the load tool's cluster
// figures and the chaos test start it; they kill, stop and restart its
// replicas and restart its PostgreSQL.
package devcluster

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/taiwa-chat/taiwa/server/internal/pgcluster"
	"github.com/taiwa-chat/taiwa/server/internal/sealkeys"
)

// Options describe a cluster to start.
type Options struct {
	// Bin is the taiwa server binary.
	Bin string
	// Replicas is how many servers run (default 3).
	Replicas int
	// Addr is the proxy's address (default 127.0.0.1:0, a free port).
	Addr string
	// NoProxy runs no nginx: callers reach the replicas themselves.
	NoProxy bool
	// Log receives the replicas' and the proxy's logs (default: discarded).
	Log io.Writer
	// Args are extra flags for every replica's serve command.
	Args []string
	// Wrap, if set, is a command every process is started under (say
	// taskset -c 0, to keep the cluster off a load generator's CPU).
	Wrap []string
	// TLSCert and TLSKey, if set, make the proxy serve HTTPS with them.
	TLSCert, TLSKey string
}

// Cluster is a running loopback cluster.
type Cluster struct {
	// Dir holds everything but PostgreSQL's own directory.
	Dir      string
	PG       *pgcluster.Cluster
	DSN      string
	Replicas []*Replica
	// URL is the proxy's address (or the first replica's, with NoProxy).
	URL string

	opt    Options
	nginx  *exec.Cmd
	ngDone chan struct{}
}

// Replica is one taiwa server process.
type Replica struct {
	Name string
	Addr string // host:port
	URL  string
	args []string
	bin  string
	log  io.Writer
	wrap []string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

var servingRE = regexp.MustCompile(`serving on (http://\S+)`)

// addrFree checks that nothing listens on the proxy's address yet. nginx
// cannot bind a taken one, but the check that it is ready (a connection to
// the address) would succeed against whatever holds it: say make run on
// 127.0.0.1:8080, which would then be announced as the cluster, with demo
// passwords it does not know.
func addrFree(addr string) error {
	if strings.HasSuffix(addr, ":0") {
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("the proxy's address %s is taken (another server, say make run or another cluster?): stop it or choose another address (--addr, CLUSTER_ADDR=… make run-cluster): %w", addr, err)
	}
	return ln.Close()
}

// freeAddr finds a free loopback port (nginx needs fixed upstream ports).
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// Start starts PostgreSQL, the replicas and the proxy.
func Start(ctx context.Context, opt Options) (*Cluster, error) {
	if opt.Replicas <= 0 {
		opt.Replicas = 3
	}
	if opt.Log == nil {
		opt.Log = io.Discard
	}
	if opt.Addr == "" {
		opt.Addr = "127.0.0.1:0"
	}
	if !opt.NoProxy {
		if err := addrFree(opt.Addr); err != nil {
			return nil, err
		}
	}
	dir, err := os.MkdirTemp("", "taiwa-cluster-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{Dir: dir, opt: opt}
	fail := func(err error) (*Cluster, error) {
		c.Close()
		return nil, err
	}
	if c.PG, err = pgcluster.New(); err != nil {
		return fail(err)
	}
	if len(opt.Wrap) > 0 {
		// Restarted under the wrapper: initdb and the first start need none.
		c.PG.Wrap = opt.Wrap
		if err := c.PG.Stop("fast"); err != nil {
			return fail(err)
		}
		if err := c.PG.Start(); err != nil {
			return fail(err)
		}
	}
	if c.DSN, err = c.PG.CreateDB(ctx, "taiwa"); err != nil {
		return fail(err)
	}
	// The replicas share one master key and one key-encryption key
	// directory; made here, before any of them races to create it.
	if _, err := sealkeys.LoadOrCreate(c.MasterKeyFile()); err != nil {
		return fail(err)
	}
	for i := range opt.Replicas {
		addr, err := freeAddr()
		if err != nil {
			return fail(err)
		}
		name := fmt.Sprintf("r%d", i+1)
		r := &Replica{Name: name, Addr: addr, URL: "http://" + addr, bin: opt.Bin, log: prefixed(opt.Log, name), wrap: opt.Wrap}
		r.args = append(append([]string{"serve"}, c.Flags(filepath.Join(dir, name))...),
			"--addr", addr, "--trusted-proxies", "127.0.0.1/32", "--metrics-addr", "off")
		r.args = append(r.args, opt.Args...)
		c.Replicas = append(c.Replicas, r)
	}
	// The first replica migrates; the others then start side by side.
	if err := c.Replicas[0].Start(); err != nil {
		return fail(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(c.Replicas))
	for i, r := range c.Replicas[1:] {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = r.Start() }()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fail(err)
	}
	c.URL = c.Replicas[0].URL
	if !opt.NoProxy {
		if err := c.startProxy(); err != nil {
			return fail(err)
		}
	}
	return c, nil
}

// MasterKeyFile is the replicas' master key.
func (c *Cluster) MasterKeyFile() string { return filepath.Join(c.Dir, "master.key") }

// KEKDir is the replicas' key-encryption key directory.
func (c *Cluster) KEKDir() string { return filepath.Join(c.Dir, "kek") }

// Flags are the flags that put a taiwa command on this cluster's database,
// with data (its own files) in dataDir.
func (c *Cluster) Flags(dataDir string) []string {
	return []string{"--db", c.DSN, "--data", dataDir, "--kek-dir", c.KEKDir(), "--master-key-file", c.MasterKeyFile()}
}

// Close stops everything and removes what it made.
func (c *Cluster) Close() error {
	var errs []error
	if c.nginx != nil {
		c.nginx.Process.Signal(syscall.SIGQUIT) // graceful: finish what is in flight
		select {
		case <-c.ngDone:
		case <-time.After(5 * time.Second):
			c.nginx.Process.Kill()
			<-c.ngDone
		}
	}
	for _, r := range c.Replicas {
		r.Cont()
		errs = append(errs, r.Terminate())
	}
	if c.PG != nil {
		errs = append(errs, c.PG.Remove())
	}
	errs = append(errs, os.RemoveAll(c.Dir))
	return errors.Join(errs...)
}

// Start starts the replica's process and waits until it serves.
func (r *Replica) Start() error {
	cmd := exec.Command(r.bin, r.args...)
	if len(r.wrap) > 0 {
		cmd = exec.Command(r.wrap[0], append(append(r.wrap[1:len(r.wrap):len(r.wrap)], r.bin), r.args...)...)
	}
	cmd.Stderr = r.log
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", r.Name, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	serving := make(chan struct{}, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if servingRE.MatchString(sc.Text()) {
				serving <- struct{}{}
			}
		}
	}()
	select {
	case <-serving:
	case <-done:
		return fmt.Errorf("%s exited before serving", r.Name)
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		return fmt.Errorf("%s did not start within 60 s", r.Name)
	}
	r.mu.Lock()
	r.cmd, r.done = cmd, done
	r.mu.Unlock()
	return nil
}

func (r *Replica) signal(sig syscall.Signal) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return nil
	}
	return r.cmd.Process.Signal(sig)
}

// Pids lists every process of the cluster: replicas, proxy, PostgreSQL.
func (c *Cluster) Pids() []int {
	r, n, p := c.PidsByPart()
	return append(append(r, n...), p...)
}

// PidsByPart lists the processes of the replicas, the proxy and
// PostgreSQL.
func (c *Cluster) PidsByPart() (replicas, proxy, pg []int) {
	for _, r := range c.Replicas {
		if p := r.Pid(); p != 0 {
			replicas = append(replicas, p)
		}
	}
	if c.nginx != nil {
		proxy = append(append(proxy, c.nginx.Process.Pid), children(c.nginx.Process.Pid)...)
	}
	return replicas, proxy, c.PG.Pids()
}

// children lists a process's children.
func children(parent int) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(st)
		if i := strings.LastIndexByte(s, ')'); i > 0 {
			if f := strings.Fields(s[i+1:]); len(f) > 1 && f[1] == strconv.Itoa(parent) {
				out = append(out, pid)
			}
		}
	}
	return out
}

// RestartPostgres stops PostgreSQL (fast: open transactions roll back,
// connections are cut) and starts it again: an outage the replicas ride.
func (c *Cluster) RestartPostgres() error {
	if err := c.PG.Stop("fast"); err != nil {
		return err
	}
	return c.PG.Start()
}

// Pid is the process's ID (0 when not running).
func (r *Replica) Pid() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return 0
	}
	return r.cmd.Process.Pid
}

// Kill kills the process at once (SIGKILL: no goodbye, nothing flushed)
// and waits for it to be gone.
func (r *Replica) Kill() error { return r.end(syscall.SIGKILL) }

// Terminate asks the process to stop (SIGTERM: connections are told to
// reconnect, writes in flight are committed) and waits.
func (r *Replica) Terminate() error { return r.end(syscall.SIGTERM) }

func (r *Replica) end(sig syscall.Signal) error {
	r.mu.Lock()
	cmd, done := r.cmd, r.done
	r.cmd = nil
	r.mu.Unlock()
	if cmd == nil {
		return nil
	}
	cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
	}
	return nil
}

// Stop freezes the process (SIGSTOP): its sockets stay open, silent.
func (r *Replica) Stop() error { return r.signal(syscall.SIGSTOP) }

// Cont wakes a frozen process (SIGCONT).
func (r *Replica) Cont() error { return r.signal(syscall.SIGCONT) }

// nginxConf is the proxy in front of the replicas: WebSocket upgrades
// passed through, the browser's Host and the client's address and scheme
// forwarded on every location (the replicas trust 127.0.0.1 for them), a
// replica that fails skipped for a while.
// The live endpoint's read timeout is short: apps ping every 4 s and the
// server answers, so a silent upstream is a frozen replica, and a
// handshake it does not answer moves on to the next.
const nginxConf = `# Generated by devcluster (make run-cluster): Taiwa behind nginx on loopback.
{{user}}
worker_processes 1;
pid {{dir}}/nginx.pid;
error_log {{dir}}/error.log warn;
events { worker_connections 8192; }
worker_rlimit_nofile 20000;
http {
	access_log off;
	client_body_temp_path {{dir}}/body;
	proxy_temp_path {{dir}}/proxy;
	fastcgi_temp_path {{dir}}/fastcgi;
	uwsgi_temp_path {{dir}}/uwsgi;
	scgi_temp_path {{dir}}/scgi;
	map $http_upgrade $connection_upgrade { default upgrade; '' close; }
	upstream taiwa {
		least_conn;
{{servers}}	}
	server {
		listen {{addr}}{{ssl}};
{{tls}}
		client_max_body_size 2m;
		proxy_http_version 1.1;
		# $http_host keeps the port ($host drops it): browsers' Origin must
		# match the Host a replica sees, or it refuses them (403).
		proxy_set_header Host $http_host;
		proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
		proxy_set_header X-Forwarded-Proto $scheme;
		proxy_connect_timeout 2s;
		proxy_next_upstream error timeout http_502 http_503;
		proxy_next_upstream_tries 3;
		location = /api/v1/live {
			proxy_pass http://taiwa;
			# A location that sets any header inherits none of the server's.
			proxy_set_header Host $http_host;
			proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
			proxy_set_header X-Forwarded-Proto $scheme;
			proxy_set_header Upgrade $http_upgrade;
			proxy_set_header Connection $connection_upgrade;
			proxy_read_timeout 8s;
			proxy_send_timeout 8s;
		}
		location / {
			proxy_pass http://taiwa;
			proxy_read_timeout 30s;
		}
	}
}
`

// NginxConf renders the proxy's configuration for upstream addresses;
// with a certificate and key it serves HTTPS.
func NginxConf(dir, listen string, upstreams []string, cert, key string) string {
	ssl, tls := "", ""
	if cert != "" {
		ssl = " ssl"
		tls = fmt.Sprintf("\t\tssl_certificate %s;\n\t\tssl_certificate_key %s;\n", cert, key)
	}
	var servers strings.Builder
	for _, u := range upstreams {
		fmt.Fprintf(&servers, "\t\tserver %s max_fails=1 fail_timeout=5s;\n", u)
	}
	userLine := ""
	if os.Geteuid() == 0 {
		userLine = "user www-data;"
	}
	return strings.NewReplacer("{{user}}", userLine, "{{dir}}", dir, "{{addr}}", listen, "{{servers}}", servers.String(),
		"{{ssl}}", ssl, "{{tls}}", tls).Replace(nginxConf)
}

func (c *Cluster) startProxy() error {
	bin, err := exec.LookPath("nginx")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/nginx"); serr != nil {
			return errors.New("nginx is not installed (apt-get install nginx; make run-cluster does it)")
		}
		bin = "/usr/sbin/nginx"
	}
	addr := c.opt.Addr
	if strings.HasSuffix(addr, ":0") {
		if addr, err = freeAddr(); err != nil {
			return err
		}
	}
	dir := filepath.Join(c.Dir, "nginx")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var ups []string
	for _, r := range c.Replicas {
		ups = append(ups, r.Addr)
	}
	conf := filepath.Join(dir, "nginx.conf")
	cert, key := c.opt.TLSCert, c.opt.TLSKey
	if cert != "" {
		if cert, err = filepath.Abs(cert); err != nil {
			return err
		}
		if key, err = filepath.Abs(key); err != nil {
			return err
		}
	}
	if err := os.WriteFile(conf, []byte(NginxConf(dir, addr, ups, cert, key)), 0o644); err != nil {
		return err
	}
	if os.Geteuid() == 0 {
		if err := chownTo(dir, "www-data"); err != nil {
			return err
		}
	}
	args := []string{"-p", dir, "-c", conf, "-e", filepath.Join(dir, "error.log"), "-g", "daemon off;"}
	cmd := exec.Command(bin, args...)
	if w := c.opt.Wrap; len(w) > 0 {
		cmd = exec.Command(w[0], append(append(w[1:len(w):len(w)], bin), args...)...)
	}
	cmd.Stdout, cmd.Stderr = c.opt.Log, c.opt.Log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start nginx: %w", err)
	}
	c.nginx, c.ngDone = cmd, make(chan struct{})
	go func() { cmd.Wait(); close(c.ngDone) }()
	c.URL = "http://" + addr
	if cert != "" {
		c.URL = "https://" + addr
	}
	// Ready when it listens.
	deadline := time.Now().Add(15 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			return nil
		}
		select {
		case <-c.ngDone:
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			return fmt.Errorf("nginx exited: %s", log)
		default:
		}
		if time.Now().After(deadline) {
			return errors.New("nginx did not listen within 15 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func chownTo(dir, name string) error {
	u, err := user.Lookup(name)
	if err != nil {
		return err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

// prefixed writes each line to w with a name in front.
func prefixed(w io.Writer, name string) io.Writer {
	if w == io.Discard {
		return w
	}
	pr, pw := io.Pipe()
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			fmt.Fprintf(w, "[%s] %s\n", name, sc.Text())
		}
	}()
	return pw
}
