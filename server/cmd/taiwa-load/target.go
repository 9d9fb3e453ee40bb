package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/taiwa-chat/taiwa/pkg/credential"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/store"
	"github.com/taiwa-chat/taiwa/server/internal/store/sqlite"
)

// target is a server under test, running in its own process.
type target struct {
	name         string
	url          string
	pid          int
	clientTokens []string
	staffTokens  []string
	adminToken   string // empty for the relay
	stop         func()
}

var servingRE = regexp.MustCompile(`serving on (http://\S+)`)

// startProcess runs a server, pinned to CPU 0 when the tool can pin itself
// to another, and waits for its "serving on" line.
func startProcess(ctx context.Context, stderr io.Writer, bin string, args ...string) (pid int, url string, stop func(), err error) {
	if runtime.NumCPU() >= 2 {
		if _, err := exec.LookPath("taskset"); err == nil {
			args = append([]string{"-c", "0", bin}, args...)
			bin = "taskset"
		}
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, "", nil, err
	}
	if err := cmd.Start(); err != nil {
		return 0, "", nil, fmt.Errorf("start %s: %w", bin, err)
	}
	stop = func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := servingRE.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	select {
	case url = <-found:
		return cmd.Process.Pid, url, stop, nil
	case <-time.After(30 * time.Second):
		stop()
		return 0, "", nil, fmt.Errorf("%s did not start", bin)
	}
}

// pinSelf keeps the load generator off the server's CPU.
func pinSelf() {
	if runtime.NumCPU() < 2 {
		return
	}
	var set unix.CPUSet
	for i := 1; i < runtime.NumCPU(); i++ {
		set.Set(i)
	}
	_ = unix.SchedSetaffinity(0, &set) // best effort: unpinned figures are still valid, only noisier
}

// startTaiwa seeds a fresh data directory straight through the store (no
// logins: argon2 for thousands of accounts would dominate the run) and
// starts the real server binary on it.
func startTaiwa(ctx context.Context, stderr io.Writer, bin string, clients, counselors int, extra ...string) (*target, error) {
	dir, err := os.MkdirTemp("", "taiwa-load-")
	if err != nil {
		return nil, err
	}
	t := &target{name: "taiwa"}
	if err := seed(ctx, dir, clients, counselors, t); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("seed: %w", err)
	}
	args := append([]string{"serve", "--data", dir, "--addr", "127.0.0.1:0", "--log-level", "warn"}, extra...)
	pid, url, stop, err := startProcess(ctx, stderr, bin, args...)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	t.pid, t.url = pid, url
	t.stop = func() { stop(); os.RemoveAll(dir) }
	return t, nil
}

func seed(ctx context.Context, dir string, clients, counselors int, t *target) error {
	db, err := sqlite.Open(dir, sqlite.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	return seedStore(ctx, db, clients, counselors, t)
}

// seedStore makes the load's organisation and signed-in accounts in st.
func seedStore(ctx context.Context, db store.Store, clients, counselors int, t *target) error {
	org, err := db.CreateOrg(ctx, "負荷試験")
	if err != nil {
		return err
	}
	hash := credential.Hash(credential.NewPassword(), credential.Params{Time: 1, Memory: 1024, Threads: 1}) // never used to log in
	mk := func(role protocol.Role, i int) (protocol.Account, string, error) {
		a, err := db.CreateAccount(ctx, store.Principal{}, store.NewAccount{OrgID: org.ID, Role: role,
			LoginID: fmt.Sprintf("%s-%d", role, i), Nickname: fmt.Sprintf("%s %d", role, i), PasswordHash: hash})
		if err != nil {
			return a, "", err
		}
		tok := credential.NewToken()
		_, err = db.CreateSession(ctx, store.NewSession{AccountID: a.ID, TokenHash: credential.TokenHash(tok), Device: "load", ExpiresAt: time.Now().Add(24 * time.Hour)})
		return a, tok, err
	}
	_, adminTok, err := mk(protocol.RoleAdmin, 0)
	if err != nil {
		return err
	}
	t.adminToken = adminTok
	t.staffTokens = make([]string, counselors)
	t.clientTokens = make([]string, clients)
	// Concurrent creation lets the store's group commit batch the writes.
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	work := make(chan func() error)
	for w := 0; w < 64; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range work {
				if err := f(); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		}()
	}
	for i := 0; i < counselors; i++ {
		work <- func() error {
			// The load's staff read every message, as the relay's do: admins
			// (a counselor is sent only the conversations they have).
			_, tok, err := mk(protocol.RoleAdmin, i+1)
			t.staffTokens[i] = tok
			return err
		}
	}
	for i := 0; i < clients; i++ {
		work <- func() error {
			_, tok, err := mk(protocol.RoleClient, i)
			t.clientTokens[i] = tok
			return err
		}
	}
	close(work)
	wg.Wait()
	if len(errs) > 0 {
		return errs[0]
	}
	return nil
}

func startRelay(ctx context.Context, stderr io.Writer, clients, counselors int) (*target, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	pid, url, stop, err := startProcess(ctx, stderr, self, "relay", "--addr", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	t := &target{name: "relay", pid: pid, url: url, stop: stop}
	for i := 0; i < clients; i++ {
		t.clientTokens = append(t.clientTokens, fmt.Sprintf("client:%d", i+1))
	}
	for j := 0; j < counselors; j++ {
		t.staffTokens = append(t.staffTokens, fmt.Sprintf("staff:%d", j+1))
	}
	return t, nil
}

// rss returns a process's resident memory in bytes.
func rss(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024
		}
	}
	return 0
}
