// Package pgcluster runs throwaway PostgreSQL clusters: initdb into a
// temporary directory, a Unix socket in it, no TCP port. Tests start them
// (through pgtest), and so do make run-cluster and the load tool's cluster
// runs. It needs Debian's postgresql package (make test installs it).
//
// As root, initdb refuses to run, so the cluster runs as the postgres user
// the Debian package creates.
package pgcluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// User is the superuser of every test cluster.
const User = "taiwa"

// Cluster is a running throwaway PostgreSQL.
type Cluster struct {
	// Dir holds the data directory (Dir/data), the socket and the log.
	Dir string
	bin string
	// Options are extra server settings (-c name=value).
	Options []string
	// Wrap, if set, is a command the server is started under (say
	// taskset -c 0, to keep it off a load generator's CPU).
	Wrap  []string
	owned bool // Dir is removed by Remove
}

// BinDir finds the PostgreSQL server programs (the newest installed).
func BinDir() (string, error) {
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	sort.Slice(matches, func(i, j int) bool { return version(matches[i]) > version(matches[j]) })
	if len(matches) > 0 {
		return filepath.Dir(matches[0]), nil
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("PostgreSQL's initdb is not installed (apt-get install postgresql; make test does it)")
}

func version(initdb string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(initdb))))
	return v
}

// asServerUser runs a server program as the user that may run it: the
// postgres user when we are root, ourselves otherwise.
func asServerUser(name string, args ...string) *exec.Cmd {
	if os.Geteuid() == 0 {
		return exec.Command("runuser", append([]string{"-u", "postgres", "--", name}, args...)...)
	}
	return exec.Command(name, args...)
}

// handOver gives dir (recursively) to the user that runs the server.
func handOver(dir string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return fmt.Errorf("the postgres user (from Debian's postgresql package): %w", err)
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

// New creates (initdb) and starts a cluster in a new temporary directory.
func New(options ...string) (*Cluster, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "taiwa-pg-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{Dir: dir, bin: bin, Options: options, owned: true}
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	if err := handOver(dir); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	cmd := asServerUser(filepath.Join(bin, "initdb"), "-D", c.DataDir(), "-A", "trust", "-U", User, "-E", "UTF8", "--no-locale", "--no-sync")
	if out, err := cmd.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	if err := c.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return c, nil
}

// Attach starts a cluster on an existing directory laid out as New's
// (a copy of another cluster's directory, say), on its own socket.
func Attach(dir string, options ...string) (*Cluster, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	// A copied cluster still names its original's pid: it must not think
	// it is already running.
	os.Remove(filepath.Join(dir, "data", "postmaster.pid"))
	if err := handOver(dir); err != nil {
		return nil, err
	}
	c := &Cluster{Dir: dir, bin: bin, Options: options}
	return c, c.Start()
}

// DataDir is the cluster's data directory (with its WAL in pg_wal).
func (c *Cluster) DataDir() string { return filepath.Join(c.Dir, "data") }

// Start starts the server and waits until it accepts connections.
func (c *Cluster) Start() error {
	opts := []string{"-k", c.Dir, "-c", "listen_addresses=", "-c", "max_connections=300", "-c", "shared_buffers=32MB"}
	for _, o := range c.Options {
		opts = append(opts, "-c", o)
	}
	cmd := asServerUser(filepath.Join(c.bin, "pg_ctl"), "-D", c.DataDir(), "-l", filepath.Join(c.Dir, "log"), "-w", "-t", "60",
		"-o", strings.Join(opts, " "), "start")
	if len(c.Wrap) > 0 {
		cmd = exec.Command(c.Wrap[0], append(c.Wrap[1:], cmd.Args...)...)
	}
	// pg_ctl's server must not die with the test's process group on a
	// signal meant for the test, but its output must not hold our pipes.
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		log, _ := os.ReadFile(filepath.Join(c.Dir, "log"))
		return fmt.Errorf("pg_ctl start: %w\n%s\n%s", err, out.String(), tail(log, 2000))
	}
	return nil
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// Pids lists the server's processes: the postmaster and its children.
func (c *Cluster) Pids() []int {
	b, err := os.ReadFile(filepath.Join(c.DataDir(), "postmaster.pid"))
	if err != nil {
		return nil
	}
	main, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	if err != nil {
		return nil
	}
	pids := []int{main}
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
		// pid (comm) state ppid …: comm may hold spaces, so read after ")".
		s := string(st)
		if i := strings.LastIndexByte(s, ')'); i > 0 {
			if f := strings.Fields(s[i+1:]); len(f) > 1 && f[1] == strconv.Itoa(main) {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

// Stop stops the server; mode is pg_ctl's: "fast" (roll back and stop),
// "immediate" (a crash: recovery at the next start).
func (c *Cluster) Stop(mode string) error {
	cmd := asServerUser(filepath.Join(c.bin, "pg_ctl"), "-D", c.DataDir(), "-m", mode, "-w", "stop")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("pg_ctl stop: %w\n%s", err, out)
	}
	return nil
}

// Remove stops the server and deletes its directory.
func (c *Cluster) Remove() error {
	err := c.Stop("immediate")
	if rerr := os.RemoveAll(c.Dir); rerr != nil && err == nil {
		err = rerr
	}
	return err
}

// DSN is the connection string for database db, over the socket.
func (c *Cluster) DSN(db string) string {
	return fmt.Sprintf("postgres://%s@/%s?host=%s", User, db, c.Dir)
}

// CreateDB creates an empty database and returns its connection string.
func (c *Cluster) CreateDB(ctx context.Context, name string) (string, error) {
	conn, err := pgx.Connect(ctx, c.DSN("postgres"))
	if err != nil {
		return "", fmt.Errorf("connect to %s: %w", c.Dir, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	return c.DSN(name), nil
}

// Backup takes a base backup with its WAL (pg_basebackup, as an operator
// would) into a new directory laid out as the cluster's, for Attach. The
// caller removes it.
func (c *Cluster) Backup() (string, error) {
	dir, err := os.MkdirTemp("", "taiwa-pg-copy-")
	if err != nil {
		return "", err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return "", err
	}
	if err := handOver(dir); err != nil {
		return "", err
	}
	cmd := asServerUser(filepath.Join(c.bin, "pg_basebackup"), "-h", c.Dir, "-U", User, "-D", filepath.Join(dir, "data"), "-X", "stream", "-c", "fast")
	if out, err := cmd.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("pg_basebackup: %w\n%s", err, out)
	}
	return dir, nil
}
