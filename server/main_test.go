package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/client"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// TestMain lets the test binary act as the server: the crash test re-runs
// it with TAIWA_TEST_AS_SERVER set, so the real main code runs in a real
// process that can be killed.
func TestMain(m *testing.M) {
	if os.Getenv("TAIWA_TEST_AS_SERVER") == "1" {
		os.Exit(mainWithSignals())
	}
	os.Exit(m.Run())
}

type serverProc struct {
	cmd  *exec.Cmd
	url  string
	logs *bytes.Buffer
}

var servingRE = regexp.MustCompile(`serving on (http://[0-9.:]+)`)

func startServer(t *testing.T, dir, addr string) *serverProc {
	t.Helper()
	cmd := exec.Command(os.Args[0], "serve", "--data", dir, "--addr", addr)
	cmd.Env = append(os.Environ(), "TAIWA_TEST_AS_SERVER=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	logs := &bytes.Buffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := servingRE.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	select {
	case u := <-found:
		return &serverProc{cmd: cmd, url: u, logs: logs}
	case <-time.After(20 * time.Second):
		t.Fatalf("server did not start; stderr:\n%s", logs)
		return nil
	}
}

func TestCommandLine(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"org", "create", "--data", dir, "--name", "こころ相談室", "--admin", "Kanri"}, &out, &errOut); code != 0 {
		t.Fatalf("org create: %d %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "Admin login ID:  kanri") || !regexp.MustCompile(`password: [a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}`).MatchString(out.String()) {
		t.Fatalf("org create printed:\n%s", out.String())
	}
	tests := []struct {
		args []string
		code int
	}{
		{[]string{}, 2},
		{[]string{"bogus"}, 2},
		{[]string{"org", "create", "--data", dir}, 1},
		{[]string{"org", "create", "--data", dir, "--name", "x", "--admin", "kanri"}, 1}, // login ID taken
		{[]string{"serve", "--data", dir, "--sweep-interval", "5m"}, 1},
		{[]string{"serve", "--data", dir, "--fcm-web-config", "web.json"}, 1}, // no sender to send with
		{[]string{"serve", "--data", dir, "--fcm-credentials", filepath.Join(dir, "missing.json")}, 1},
		// The keys of dir's organisation are wrapped by the data directory's
		// master key: another one must not start.
		{[]string{"serve", "--data", dir, "--master-key-file", filepath.Join(t.TempDir(), "other.key")}, 1},
		{[]string{"serve", "--data", dir, "--master-key-file", "x", "--master-key-keychain"}, 1},
		{[]string{"serve", "--data", dir, "--trusted-proxies", "10.0.0.0/33"}, 1},
		{[]string{"serve", "--data", dir, "--trusted-proxies", "0.0.0.0/0"}, 1},
		{[]string{"serve", "--data", dir, "--shared-idle-timeout", "-5m"}, 1},
		{[]string{"serve", "--data", dir, "--staff-idle-timeout", "20s"}, 1},
		{[]string{"serve", "--data", dir, "--busy-after", "10ms"}, 1},
		{[]string{"org", "add-admin", "--data", dir, "--org", "99", "--admin", "spare"}, 1}, // no such organisation
		{[]string{"org", "add-admin", "--data", dir, "--org", "1", "--admin", "kanri"}, 1},  // login ID taken
		{[]string{"version"}, 0},
	}
	for _, tt := range tests {
		out.Reset()
		errOut.Reset()
		if code := run(context.Background(), tt.args, &out, &errOut); code != tt.code {
			t.Errorf("%v: exit %d, want %d (%s)", tt.args, code, tt.code, errOut.String())
		}
	}
	// The operator's way back into an organisation whose admins are gone.
	out.Reset()
	if code := run(context.Background(), []string{"org", "add-admin", "--data", dir, "--org", "1", "--admin", "spare-admin"}, &out, &errOut); code != 0 ||
		!strings.Contains(out.String(), "Admin login ID:  spare-admin") {
		t.Fatalf("org add-admin: %d %s\n%s", code, errOut.String(), out.String())
	}
	// A malformed environment value stops the start, naming the variable.
	t.Setenv("TAIWA_SWEEP_INTERVAL", "thirty seconds")
	errOut.Reset()
	if code := run(context.Background(), []string{"serve", "--data", dir}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "TAIWA_SWEEP_INTERVAL") {
		t.Fatalf("malformed TAIWA_SWEEP_INTERVAL: exit %d: %s", code, errOut.String())
	}
	os.Unsetenv("TAIWA_SWEEP_INTERVAL")
	// --db takes PostgreSQL addresses only; a key rotation must be long
	// enough to finish.
	for _, args := range [][]string{
		{"serve", "--data", dir, "--db", "mysql://db/taiwa"},
		{"serve", "--data", dir, "--db", "postgres://db/taiwa", "--kek-rotation", "1s"},
	} {
		errOut.Reset()
		if code := run(context.Background(), args, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "--") {
			t.Fatalf("%v: exit %d: %s", args, code, errOut.String())
		}
	}
	out.Reset()
	if code := run(context.Background(), []string{"demo", "--data", t.TempDir()}, &out, &errOut); code != 0 || strings.Count(out.String(), "client ") != 3 {
		t.Fatalf("demo: %d\n%s", code, out.String())
	}
}

// TestSurvivesKill9 sends from many clients, kills the server with SIGKILL
// mid-stream, restarts it, and checks that every message whose send was
// acknowledged, and every message left in an outbox, is stored exactly
// once, in order. Then a SIGTERM must shut down cleanly.
func TestSurvivesKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"org", "create", "--data", dir, "--name", "org", "--admin", "admin"}, &out, &errOut); code != 0 {
		t.Fatalf("org create: %s", errOut.String())
	}
	pw := regexp.MustCompile(`password: (\S+)`).FindStringSubmatch(out.String())[1]

	srv := startServer(t, dir, "127.0.0.1:0")
	addr := strings.TrimPrefix(srv.url, "http://")
	ctx := context.Background()
	admin, _, err := client.Login(ctx, srv.url, "admin", pw, "")
	if err != nil {
		t.Fatal(err)
	}
	const nClients = 12
	creds, err := admin.BulkCreateClients(ctx, protocol.BulkCreateClientsRequest{Prefix: "c", Count: nClients})
	if err != nil {
		t.Fatal(err)
	}

	type sender struct {
		live     *client.Live
		mu       sync.Mutex
		acked    []string
		enqueued []string
	}
	senders := make([]*sender, nClients)
	sendCtx, stopSending := context.WithCancel(ctx)
	runCtx, stopRunning := context.WithCancel(ctx)
	defer stopRunning()
	var wg, runs sync.WaitGroup
	for i, cr := range creds {
		c, _, err := client.Login(ctx, srv.url, cr.LoginID, cr.Password, "")
		if err != nil {
			t.Fatal(err)
		}
		s := &sender{live: c.Live(client.LiveOptions{MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})}
		senders[i] = s
		runs.Add(1)
		go func() { defer runs.Done(); s.live.Run(runCtx) }()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; sendCtx.Err() == nil; n++ {
				body := fmt.Sprintf("client-%d-msg-%d", i, n)
				s.mu.Lock()
				s.enqueued = append(s.enqueued, body)
				s.mu.Unlock()
				_, done := s.live.Enqueue(0, body)
				select {
				case r := <-done:
					if r.Err != nil {
						t.Errorf("send refused: %v", r.Err)
						return
					}
					s.mu.Lock()
					s.acked = append(s.acked, body)
					s.mu.Unlock()
				case <-sendCtx.Done():
					return // left in the outbox: it must still arrive once
				}
			}
		}()
	}
	ackedSoFar := func() int {
		n := 0
		for _, s := range senders {
			s.mu.Lock()
			n += len(s.acked)
			s.mu.Unlock()
		}
		return n
	}
	waitAcks := func(n int) {
		deadline := time.Now().Add(30 * time.Second)
		for ackedSoFar() < n {
			if time.Now().After(deadline) {
				for i, s := range senders {
					t.Logf("client %d: connected %v, %d in its outbox", i, s.live.Connected(), len(s.live.Pending()))
				}
				t.Fatalf("only %d acks, want %d", ackedSoFar(), n)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitAcks(300)
	if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	srv.cmd.Wait()
	beforeKill := ackedSoFar()

	srv = startServer(t, dir, addr) // same address: the clients reconnect by themselves
	waitAcks(beforeKill + 300)
	stopSending()
	wg.Wait()
	// Let every outbox drain.
	deadline := time.Now().Add(30 * time.Second)
	for _, s := range senders {
		for len(s.live.Pending()) > 0 {
			if time.Now().After(deadline) {
				t.Fatalf("outbox never drained: %d pending", len(s.live.Pending()))
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	stopRunning()
	runs.Wait()

	admin, _, err = client.Login(ctx, srv.url, "admin", pw, "")
	if err != nil {
		t.Fatal(err)
	}
	convs, err := admin.Conversations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]int{}
	seqOf := map[string]int64{}
	for _, cv := range convs {
		var before int64
		var seqs []int64
		for {
			page, err := admin.History(ctx, cv.ID, before, 500)
			if err != nil {
				t.Fatal(err)
			}
			for i := len(page.Messages) - 1; i >= 0; i-- {
				stored[page.Messages[i].Body]++
				seqOf[page.Messages[i].Body] = page.Messages[i].Seq
				seqs = append(seqs, page.Messages[i].Seq)
			}
			if page.NextBefore == 0 {
				break
			}
			before = page.NextBefore
		}
		for i, s := range seqs { // newest first
			if s != int64(len(seqs)-i) {
				t.Fatalf("conversation %d: seqs not contiguous: %v…", cv.ID, seqs[:min(10, len(seqs))])
			}
		}
	}
	total := 0
	for _, s := range senders {
		for _, b := range s.enqueued {
			total++
			if stored[b] != 1 {
				t.Errorf("%s stored %d times", b, stored[b])
			}
		}
		// Each client writes one message at a time: the order written is
		// the order stored.
		for i := 1; i < len(s.enqueued); i++ {
			if seqOf[s.enqueued[i]] <= seqOf[s.enqueued[i-1]] {
				t.Errorf("%s stored before %s", s.enqueued[i], s.enqueued[i-1])
			}
		}
		for _, b := range s.acked {
			if stored[b] == 0 {
				t.Errorf("acknowledged %s lost", b)
			}
		}
	}
	if len(stored) != total {
		t.Errorf("stored %d distinct messages, sent %d", len(stored), total)
	}
	t.Logf("%d messages, %d acknowledged before SIGKILL, all present exactly once", total, beforeKill)

	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := srv.cmd.Wait(); err != nil {
		t.Fatalf("SIGTERM shutdown: %v\n%s", err, srv.logs)
	}
}
