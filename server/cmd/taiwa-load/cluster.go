package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/taiwa-chat/taiwa/server/internal/devcluster"
	"github.com/taiwa-chat/taiwa/server/internal/sealkeys"
	"github.com/taiwa-chat/taiwa/server/internal/store/postgres"
)

// clockTicks is the kernel's unit of CPU time in /proc/PID/stat (USER_HZ,
// 100 on Linux).
const clockTicks = 100

// cpuTime adds up the CPU time (user and system) the processes have used.
func cpuTime(pids []int) time.Duration {
	var ticks int64
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:]) // state ppid … utime is the 12th field after ")"
		if len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		k, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += u + k
	}
	return time.Duration(ticks) * time.Second / clockTicks
}

// pinned is the wrapper that keeps a server on CPU 0, off the load
// generator's (pinSelf), when there are two CPUs or more.
func pinned() []string {
	if runtime.NumCPU() < 2 {
		return nil
	}
	return []string{"taskset", "-c", "0"}
}

// startCluster starts a loopback cluster (PostgreSQL, replicas, nginx)
// and seeds it through the PostgreSQL store.
func startCluster(ctx context.Context, stderr io.Writer, bin string, replicas, clients, counselors int) (*target, *devcluster.Cluster, error) {
	c, err := devcluster.Start(ctx, devcluster.Options{Bin: bin, Replicas: replicas, Log: stderr, Wrap: pinned(), Args: []string{"--log-level", "warn"}})
	if err != nil {
		return nil, nil, err
	}
	master, err := sealkeys.LoadOrCreate(c.MasterKeyFile())
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	db, err := postgres.Open(ctx, c.DSN, postgres.Options{MasterKey: master, KEKDir: c.KEKDir()})
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	t := &target{name: fmt.Sprintf("%d×taiwa+pg", replicas), url: c.URL, pid: c.Replicas[0].Pid(), stop: func() { c.Close() }}
	err = seedStore(ctx, db, clients, counselors, t)
	db.Close()
	if err != nil {
		c.Close()
		return nil, nil, fmt.Errorf("seed: %w", err)
	}
	return t, c, nil
}

// chaosCmd runs the load through a three-replica cluster while replicas
// are killed and frozen and PostgreSQL restarts, then checks that no
// acknowledged message was lost, none arrived twice, none was skipped, and
// every connection is up again.
func chaosCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c loadConfig
	fs := flag.NewFlagSet("chaos", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.server, "server", "bin/taiwa", "path to the taiwa server binary")
	fs.IntVar(&c.clients, "clients", 200, "client connections")
	fs.IntVar(&c.counselors, "counselors", 5, "counselor connections")
	fs.Float64Var(&c.rate, "rate", 100, "client messages per second (open loop)")
	fs.DurationVar(&c.duration, "duration", 45*time.Second, "length of the send schedule")
	fs.IntVar(&c.replyEvery, "reply-every", 10, "counselors answer every Nth client message (0: never)")
	verbose := fs.Bool("v", false, "show the servers' logs")
	if err := fs.Parse(args); err != nil {
		return err
	}
	pinSelf()
	var logs io.Writer = io.Discard
	if *verbose {
		logs = stderr
	}
	t, cl, err := startCluster(ctx, logs, c.server, 3, c.clients, c.counselors)
	if err != nil {
		return err
	}
	defer t.stop()
	c.tail = 90 * time.Second
	fmt.Fprintf(stdout, "chaos: %d clients + %d counselors through nginx to 3 replicas on PostgreSQL, %.0f msgs/s for %s\n",
		c.clients, c.counselors, c.rate, c.duration)
	r1, r2, r3 := cl.Replicas[0], cl.Replicas[1], cl.Replicas[2]
	_ = r1
	type event struct {
		at   time.Duration
		what string
		do   func() error
	}
	events := []event{
		{5 * time.Second, "kill -9 replica r2", r2.Kill},
		{10 * time.Second, "SIGSTOP replica r3 (for 10 s)", r3.Stop},
		{15 * time.Second, "restart replica r2", r2.Start},
		{20 * time.Second, "SIGCONT replica r3", r3.Cont},
		{28 * time.Second, "restart PostgreSQL (fast stop, start)", cl.RestartPostgres},
	}
	var eventErr error
	c.during = func(ctx context.Context, start time.Time) {
		for _, e := range events {
			select {
			case <-time.After(time.Until(start.Add(e.at))):
			case <-ctx.Done():
				return
			}
			began := time.Now()
			err := e.do()
			fmt.Fprintf(stdout, "  %5.1fs  %s (%v)", time.Since(start).Seconds(), e.what, time.Since(began).Round(time.Millisecond))
			if err != nil {
				fmt.Fprintf(stdout, ": %v", err)
				eventErr = errors.Join(eventErr, fmt.Errorf("%s: %w", e.what, err))
			}
			fmt.Fprintln(stdout)
		}
	}
	res, err := drive(ctx, t, c)
	if err != nil {
		return err
	}
	// Every acknowledged message is in the database, once.
	ids := make([]int64, 0, len(res.ackedIDs))
	for id := range res.ackedIDs {
		ids = append(ids, id)
	}
	conn, err := pgx.Connect(ctx, cl.DSN)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	var stored, storedAll int64
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM messages WHERE id = ANY($1)", ids).Scan(&stored); err != nil {
		return fmt.Errorf("check the database: %w", err)
	}
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM messages WHERE kind = 'text'").Scan(&storedAll); err != nil {
		return fmt.Errorf("check the database: %w", err)
	}
	lost := int64(len(ids)) - stored
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\nsent\tacked\tacked lost\tstored\tdelivered/expected\tdup\tgap\treconnects\tnot reconnected\tin outboxes\tack p50 ms\tp99\tmax\t")
	fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%d/%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t\n", res.sent, res.acked, lost, storedAll, res.delivered, res.expected,
		res.dups, res.gaps, res.reconnects, res.disconnected, res.pending,
		ms(res.ack.ValueAtQuantile(50)), ms(res.ack.ValueAtQuantile(99)), ms(res.ack.Max()))
	tw.Flush()
	var problems []string
	if eventErr != nil {
		problems = append(problems, eventErr.Error())
	}
	if lost != 0 {
		problems = append(problems, fmt.Sprintf("%d acknowledged messages lost", lost))
	}
	if res.acked != res.sent {
		problems = append(problems, fmt.Sprintf("%d of %d sends never acknowledged", res.sent-res.acked, res.sent))
	}
	if res.dups != 0 || res.gaps != 0 {
		problems = append(problems, fmt.Sprintf("%d duplicates, %d gaps", res.dups, res.gaps))
	}
	if res.delivered != res.expected {
		problems = append(problems, fmt.Sprintf("delivered %d of %d", res.delivered, res.expected))
	}
	if res.disconnected != 0 {
		problems = append(problems, fmt.Sprintf("%d connections not resumed", res.disconnected))
	}
	if len(problems) > 0 {
		return fmt.Errorf("chaos: %s", strings.Join(problems, "; "))
	}
	fmt.Fprintln(stdout, "\nchaos: PASS — 0 acknowledged messages lost, 0 duplicates, 0 gaps, every connection resumed on a live replica")
	return nil
}

// clusterCmd measures the same open-loop load through three replicas on
// PostgreSQL (behind nginx) and through one server on SQLite, then finds
// the highest rate each keeps with ack p99 ≤ 50 ms and nothing lost.
func clusterCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c loadConfig
	fs := flag.NewFlagSet("cluster", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.server, "server", "bin/taiwa", "path to the taiwa server binary")
	fs.IntVar(&c.clients, "clients", 1000, "client connections")
	fs.IntVar(&c.counselors, "counselors", 10, "counselor connections")
	fs.Float64Var(&c.rate, "rate", 500, "client messages per second (open loop)")
	fs.DurationVar(&c.duration, "duration", 30*time.Second, "length of the send schedule")
	fs.IntVar(&c.replyEvery, "reply-every", 10, "counselors answer every Nth client message (0: never)")
	replicas := fs.Int("replicas", 3, "replicas in the cluster")
	rates := fs.String("sweep", "500,1000,1500,2000,3000", "rates tried, in order, for the highest kept with ack p99 ≤ 50 ms (empty: none)")
	sweepFor := fs.Duration("sweep-duration", 10*time.Second, "length of each sweep run")
	if err := fs.Parse(args); err != nil {
		return err
	}
	pinSelf()
	clusterName := fmt.Sprintf("%d×taiwa+pg", *replicas)
	var split string // the last cluster run's CPU by part
	run := func(name string, rate float64, d time.Duration) (*result, error) {
		cc := c
		cc.rate, cc.duration = rate, d
		var (
			t    *target
			pids func() []int
			err  error
		)
		if name == "sqlite" {
			if t, err = startTaiwa(ctx, stderr, c.server, c.clients, c.counselors); err != nil {
				return nil, err
			}
			pids = func() []int { return []int{t.pid} }
		} else {
			var cl *devcluster.Cluster
			if t, cl, err = startCluster(ctx, io.Discard, c.server, *replicas, c.clients, c.counselors); err != nil {
				return nil, err
			}
			pids = cl.Pids
			// Where the cluster's CPU goes, read at the same moments.
			var before [3]time.Duration
			cc.cpu = func() time.Duration {
				r, n, p := cl.PidsByPart()
				parts := [3]time.Duration{cpuTime(r), cpuTime(n), cpuTime(p)}
				if before == ([3]time.Duration{}) {
					before = parts
				} else {
					split = fmt.Sprintf("replicas %v, nginx %v, PostgreSQL %v", parts[0]-before[0], parts[1]-before[1], parts[2]-before[2])
				}
				return parts[0] + parts[1] + parts[2]
			}
		}
		defer t.stop()
		t.name = name
		if cc.cpu == nil {
			cc.cpu = func() time.Duration { return cpuTime(pids()) }
		}
		return drive(ctx, t, cc)
	}
	fmt.Fprintf(stdout, "load: %d clients + %d counselors, %.0f client msgs/s open loop for %s; one server on SQLite, %s behind nginx (servers on CPU 0, load on the rest)\n\n",
		c.clients, c.counselors, c.rate, c.duration, clusterName)
	var main []*result
	for _, name := range []string{"sqlite", clusterName} {
		r, err := run(name, c.rate, c.duration)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		main = append(main, r)
	}
	printCluster(stdout, main)
	fmt.Fprintf(stdout, "%s CPU by part: %s\n", clusterName, split)
	var sweep []float64
	for _, f := range strings.Split(*rates, ",") {
		if v, err := strconv.ParseFloat(strings.TrimSpace(f), 64); err == nil && v > 0 {
			sweep = append(sweep, v)
		}
	}
	if len(sweep) > 0 {
		fmt.Fprintf(stdout, "\nhighest rate kept with ack p99 ≤ 50 ms, nothing lost (%s runs):\n", *sweepFor)
		for _, name := range []string{"sqlite", clusterName} {
			best := 0.0
			for _, rate := range sweep {
				r, err := run(name, rate, *sweepFor)
				if err != nil {
					return fmt.Errorf("%s at %.0f/s: %w", name, rate, err)
				}
				ok := r.clean() && r.ack.ValueAtQuantile(99) <= 50_000
				fmt.Fprintf(stdout, "  %-12s %5.0f/s: ack p99 %s ms, delivery p99 %s ms, %s\n", name, rate,
					ms(r.ack.ValueAtQuantile(99)), ms(r.delivery.ValueAtQuantile(99)), map[bool]string{true: "kept", false: "not kept"}[ok])
				if !ok {
					break
				}
				best = rate
			}
			fmt.Fprintf(stdout, "  %-12s highest kept: %.0f msgs/s\n", name, best)
		}
	}
	for _, r := range main {
		if !r.clean() {
			return fmt.Errorf("%s lost, duplicated or reordered messages", r.name)
		}
	}
	return nil
}

func printCluster(w io.Writer, rs []*result) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\tsent\tacked\tdelivered/expected\tdup\tgap\tack p50 ms\tp99\tp99.9\tdelivery p50 ms\tp99\tp99.9\tCPU ms/msg\t")
	for _, r := range rs {
		perMsg := float64(r.cpu.Microseconds()) / 1000 / float64(max(1, r.sent))
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d/%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%.3f\t\n", r.name, r.sent, r.acked, r.delivered, r.expected, r.dups, r.gaps,
			ms(r.ack.ValueAtQuantile(50)), ms(r.ack.ValueAtQuantile(99)), ms(r.ack.ValueAtQuantile(99.9)),
			ms(r.delivery.ValueAtQuantile(50)), ms(r.delivery.ValueAtQuantile(99)), ms(r.delivery.ValueAtQuantile(99.9)), perMsg)
	}
	tw.Flush()
	fmt.Fprintln(w, "CPU: the servers' user+system time during the schedule and its tail (cluster: replicas, nginx and every PostgreSQL process), per message sent")
}
