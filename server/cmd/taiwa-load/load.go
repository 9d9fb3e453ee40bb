package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/taiwa-chat/taiwa/pkg/client"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

type loadConfig struct {
	clients, counselors int
	rate                float64 // client messages per second, all clients together
	duration            time.Duration
	replyEvery          int // a counselor answers every Nth message of its clients
	server              string
	runs                int
	// thenRate and thenDuration, if set, continue the schedule at another
	// rate after duration (the overload run's return to normal).
	thenRate     float64
	thenDuration time.Duration
	// tail is how long to wait after the schedule for every ack and
	// delivery (default 60 s).
	tail time.Duration
	// during, if set, runs beside the send schedule (the chaos run's
	// disruptions), from its start.
	during func(ctx context.Context, start time.Time)
	// cpu, if set, reads the servers' CPU time so far: the run reports what
	// the schedule and its tail cost.
	cpu func() time.Duration
}

func compareCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c loadConfig
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.server, "server", "bin/taiwa", "path to the taiwa server binary")
	fs.IntVar(&c.clients, "clients", 1000, "client connections")
	fs.IntVar(&c.counselors, "counselors", 10, "counselor connections")
	fs.Float64Var(&c.rate, "rate", 500, "client messages per second (open loop)")
	fs.DurationVar(&c.duration, "duration", 30*time.Second, "length of the send schedule")
	fs.IntVar(&c.replyEvery, "reply-every", 10, "counselors answer every Nth client message (0: never)")
	fs.IntVar(&c.runs, "runs", 1, "alternating runs per target; the median run is reported")
	profile := fs.String("profile", "", "write Taiwa's CPU profile over the send schedule to this file (pprof; the last run's)")
	allocProfile := fs.String("alloc-profile", "", "write what Taiwa allocated over the send schedule to this file (pprof; the last run's)")
	bySecond := fs.Bool("seconds", false, "also print Taiwa's median run second by second (acks by when each message was due): where the tail comes from")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if c.clients < 1 || c.counselors < 1 || c.rate <= 0 || c.duration <= 0 || c.runs < 1 {
		return errors.New("clients, counselors, rate, duration and runs must be positive")
	}
	pinSelf()
	fmt.Fprintf(stdout, "load: %d clients + %d counselors, %.0f client msgs/s open loop for %s, counselors answer every %dth; %d run(s) per target\n\n",
		c.clients, c.counselors, c.rate, c.duration, c.replyEvery, c.runs)
	var results = map[string][]*result{}
	for r := 0; r < c.runs; r++ {
		for _, name := range []string{"relay", "taiwa"} {
			var (
				t   *target
				err error
			)
			rc := c
			if name == "relay" {
				t, err = startRelay(ctx, stderr, c.clients, c.counselors)
			} else {
				var extra []string
				if *profile != "" || *allocProfile != "" {
					addr, perr := freeAddr()
					if perr != nil {
						return perr
					}
					extra = []string{"--metrics-addr", addr}
					rc.during = func(ctx context.Context, start time.Time) {
						secs := max(1, int(c.duration.Seconds()))
						var wg sync.WaitGroup
						for _, p := range []struct{ kind, path string }{{"profile", *profile}, {"allocs", *allocProfile}} {
							if p.path == "" {
								continue
							}
							wg.Go(func() {
								if err := fetchPprof(ctx, fmt.Sprintf("http://%s/debug/pprof/%s?seconds=%d", addr, p.kind, secs), p.path); err != nil {
									fmt.Fprintf(stderr, "%s: %v\n", p.kind, err)
								}
							})
						}
						wg.Wait()
					}
				}
				t, err = startTaiwa(ctx, stderr, c.server, c.clients, c.counselors, extra...)
			}
			if err != nil {
				return fmt.Errorf("start %s: %w", name, err)
			}
			rc.cpu = func() time.Duration { return cpuTime([]int{t.pid}) }
			res, err := drive(ctx, t, rc)
			t.stop()
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			results[name] = append(results[name], res)
		}
	}
	relay, taiwa := median(results["relay"]), median(results["taiwa"])
	printResults(stdout, relay, taiwa)
	if *bySecond {
		fmt.Fprintln(stdout)
		printSeconds(stdout, taiwa.windows, taiwa.ackedIn, nil)
	}
	if !taiwa.clean() {
		return fmt.Errorf("taiwa lost, duplicated or reordered messages")
	}
	return nil
}

// result is one run's measurements.
type result struct {
	name                         string
	conns                        int
	sent, acked, refused         int64
	delivered, expected          int64
	dups, gaps, reconnects       int64
	ack, delivery                *hdrhistogram.Histogram // microseconds
	elapsed                      time.Duration           // first send to last delivery
	rssBase, rssConnected, rssHi int64
	ackedIDs                     map[int64]string // message ID → ref
	disconnected                 int              // connections not up at the end
	pending                      int              // messages still in the apps' outboxes at the end
	cpu                          time.Duration    // the servers' CPU time during the run
	busy                         int64            // sends refused as busy, sent again by the apps
	reconnectWhy                 map[string]int   // why connections were lost, by the app's error
	windows                      map[int64]*hdrhistogram.Histogram
	ackedIn                      map[int64]int64 // acks by the second they arrived in
}

func (r *result) clean() bool {
	return r.acked == r.sent && r.delivered == r.expected && r.dups == 0 && r.gaps == 0 && r.refused == 0
}

func median(rs []*result) *result {
	// Median by delivery p99, the figure most sensitive to the server.
	sorted := append([]*result(nil), rs...)
	for i := range sorted {
		for j := i + 1; j < len(sorted); j++ {
			if sorted[j].delivery.ValueAtQuantile(99) < sorted[i].delivery.ValueAtQuantile(99) {
				sorted[i], sorted[j] = sorted[j], sorted[i]
			}
		}
	}
	return sorted[len(sorted)/2]
}

// peer is one connection of the load.
type peer struct {
	live    *client.Live
	staff   bool
	idx     int // client or counselor index
	myID    atomic.Int64
	synced  chan struct{}
	once    sync.Once
	mu      sync.Mutex
	lastSeq map[int64]int64
	replies chan int64 // conversations to answer
}

type meter struct {
	mu        sync.Mutex
	ack, dlv  *hdrhistogram.Histogram
	sent      atomic.Int64
	acked     atomic.Int64
	refused   atomic.Int64
	delivered atomic.Int64
	replies   atomic.Int64
	dups      atomic.Int64
	gaps      atomic.Int64
	reconn    atomic.Int64
	whyMu     sync.Mutex
	why       map[string]int // why connections were lost
	lastDlv   atomic.Int64
	busy      atomic.Int64 // sends refused as busy (the app sends them again)
	// start is the schedule's start (ns); windows are the acks' latencies
	// by the second of their intended send time since start.
	start   int64
	windows map[int64]*hdrhistogram.Histogram
	ackedIn map[int64]int64 // acks by the second they arrived in: the throughput
	// ackedIDs is each acknowledged ref's message ID: what must not be lost.
	ackedIDs sync.Map
}

// recordAck files an ack's latency, measured from when it was due, in
// the run's histogram and under the second it was due in.
func (m *meter) recordAck(due int64) {
	us := max((time.Now().UnixNano()-due)/1000, 1)
	sec := (due - m.start) / int64(time.Second)
	m.mu.Lock()
	defer m.mu.Unlock()
	_ = m.ack.RecordValue(us)
	if m.windows == nil {
		m.windows = map[int64]*hdrhistogram.Histogram{}
	}
	h := m.windows[sec]
	if h == nil {
		h = hdrhistogram.New(1, 600_000_000, 2)
		m.windows[sec] = h
	}
	_ = h.RecordValue(us)
	if m.ackedIn == nil {
		m.ackedIn = map[int64]int64{}
	}
	m.ackedIn[(time.Now().UnixNano()-m.start)/int64(time.Second)]++
}

func (m *meter) record(h *hdrhistogram.Histogram, since int64) {
	us := (time.Now().UnixNano() - since) / 1000
	m.mu.Lock()
	_ = h.RecordValue(max(us, 1)) // values above the range are clamped by the error; none expected
	m.mu.Unlock()
}

// Bodies carry the intended send time, so that latency is measured from
// the schedule (open loop), not from when a late sender got round to it.
func body(intended int64, who string) string {
	return fmt.Sprintf("t=%d %s 負荷試験のメッセージです。眠れない日が続いていて、誰かに話を聞いてほしいと思いました。", intended, who)
}

func intendedOf(b string) (int64, bool) {
	v, _, ok := strings.Cut(strings.TrimPrefix(b, "t="), " ")
	if !ok || !strings.HasPrefix(b, "t=") {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil
}

func drive(ctx context.Context, t *target, c loadConfig) (*result, error) {
	m := &meter{ack: hdrhistogram.New(1, 120_000_000, 3), dlv: hdrhistogram.New(1, 120_000_000, 3)}
	res := &result{name: t.name, conns: c.clients + c.counselors, rssBase: rss(t.pid)}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	refs := sync.Map{} // ref → intended nanos

	newPeer := func(token string, staff bool, idx int) *peer {
		p := &peer{staff: staff, idx: idx, synced: make(chan struct{}), lastSeq: map[int64]int64{}, replies: make(chan int64, 1024)}
		cl := client.New(t.url, token)
		p.live = cl.Live(client.LiveOptions{OnEvent: func(ev client.Event) { p.on(ev, m, &refs, c) }})
		wg.Add(1)
		go func() { defer wg.Done(); p.live.Run(runCtx) }()
		return p
	}
	staff := make([]*peer, c.counselors)
	for j := range staff {
		staff[j] = newPeer(t.staffTokens[j], true, j)
	}
	clients := make([]*peer, c.clients)
	for i := range clients {
		clients[i] = newPeer(t.clientTokens[i], false, i)
	}
	for _, p := range append(staff, clients...) {
		select {
		case <-p.synced:
		case <-time.After(60 * time.Second):
			return nil, errors.New("connections did not come up within 60s")
		}
	}
	time.Sleep(time.Second) // let the server settle before reading its memory
	res.rssConnected = rss(t.pid)

	// Counselors answer from their own goroutines, off the read path.
	for _, s := range staff {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case conv := <-s.replies:
					now, ref := time.Now().UnixNano(), client.NewRef()
					refs.Store(ref, now)
					s.live.EnqueueRef(ref, conv, body(now, "reply"))
					m.replies.Add(1)
					m.sent.Add(1)
				case <-runCtx.Done():
					return
				}
			}
		}()
	}

	var cpuBefore time.Duration
	if c.cpu != nil {
		cpuBefore = c.cpu()
	}
	// The open-loop schedule: client i sends at start + i/rate + n·clients/rate.
	start := time.Now().Add(100 * time.Millisecond)
	m.start = start.UnixNano()
	type phase struct {
		from     time.Time
		rate     float64
		duration time.Duration
	}
	phases := []phase{{start, c.rate, c.duration}}
	if c.thenRate > 0 && c.thenDuration > 0 {
		phases = append(phases, phase{start.Add(c.duration), c.thenRate, c.thenDuration})
	}
	var sends sync.WaitGroup
	for i, p := range clients {
		sends.Add(1)
		go func() {
			defer sends.Done()
			n := 0
			for _, ph := range phases {
				interval := time.Duration(float64(c.clients) / ph.rate * float64(time.Second))
				for k := 0; ; k++ {
					due := ph.from.Add(time.Duration(float64(i)/ph.rate*float64(time.Second)) + time.Duration(k)*interval)
					if due.Sub(ph.from) >= ph.duration {
						break
					}
					select {
					case <-time.After(time.Until(due)):
					case <-runCtx.Done():
						return
					}
					ref := client.NewRef()
					refs.Store(ref, due.UnixNano())
					p.live.EnqueueRef(ref, 0, body(due.UnixNano(), fmt.Sprintf("c=%d n=%d", i, n)))
					m.sent.Add(1)
					n++
				}
			}
		}()
	}
	if c.during != nil {
		sends.Add(1)
		go func() { defer sends.Done(); c.during(runCtx, start) }()
	}
	sends.Wait()
	res.rssHi = rss(t.pid)

	// Wait for the tail: every ack and every delivery, or 60s.
	if c.tail <= 0 {
		c.tail = 60 * time.Second
	}
	deadline := time.Now().Add(c.tail)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		clientMsgs := m.sent.Load() - m.replies.Load()
		exp := clientMsgs*int64(c.counselors) + m.replies.Load()*int64(c.counselors) // replies reach the client and the other counselors
		if m.acked.Load()+m.refused.Load() >= m.sent.Load() && m.delivered.Load() >= exp {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // late duplicates would show up here
	if c.cpu != nil {
		res.cpu = c.cpu() - cpuBefore
	}
	for _, p := range append(staff, clients...) {
		if !p.live.Connected() {
			res.disconnected++
		}
		res.pending += len(p.live.Pending())
	}
	cancel()
	wg.Wait()
	clientMsgs := m.sent.Load() - m.replies.Load()
	res.sent, res.acked, res.refused = m.sent.Load(), m.acked.Load(), m.refused.Load()
	res.expected = clientMsgs*int64(c.counselors) + m.replies.Load()*int64(c.counselors)
	res.delivered, res.dups, res.gaps, res.reconnects = m.delivered.Load(), m.dups.Load(), m.gaps.Load(), m.reconn.Load()
	m.whyMu.Lock()
	res.reconnectWhy = maps.Clone(m.why)
	m.whyMu.Unlock()
	res.ack, res.delivery = m.ack, m.dlv
	res.busy = m.busy.Load()
	m.mu.Lock()
	res.windows, res.ackedIn = m.windows, m.ackedIn
	m.mu.Unlock()
	res.elapsed = time.Duration(m.lastDlv.Load() - start.UnixNano())
	res.ackedIDs = map[int64]string{}
	m.ackedIDs.Range(func(k, v any) bool { res.ackedIDs[v.(int64)] = k.(string); return true })
	return res, nil
}

func (p *peer) on(ev client.Event, m *meter, refs *sync.Map, c loadConfig) {
	if st := ev.State; st != nil {
		if !st.Connected && st.Err != nil {
			m.reconn.Add(1)
			m.whyMu.Lock()
			if m.why == nil {
				m.why = map[string]int{}
			}
			who := "client"
			if p.staff {
				who = "counselor"
			}
			m.why[who+": "+st.Err.Error()]++
			m.whyMu.Unlock()
		}
		return
	}
	switch f := ev.Frame.(type) {
	case *protocol.Welcome:
		p.myID.Store(f.Account.ID)
	case *protocol.Synced:
		p.once.Do(func() { close(p.synced) })
	case *protocol.Ack:
		if v, ok := refs.LoadAndDelete(f.Ref); ok {
			m.recordAck(v.(int64))
			m.acked.Add(1)
			m.ackedIDs.Store(f.Ref, f.Message.ID)
		}
	case *protocol.ErrorFrame:
		// A retryable error (the store briefly unavailable) is no refusal:
		// the app sends the message again.
		if f.Ref != "" && !f.Error.Code.Retryable() {
			m.refused.Add(1)
		} else if f.Ref != "" {
			m.busy.Add(1)
		}
	case *protocol.MessageFrame:
		msg := f.Message
		p.mu.Lock()
		last := p.lastSeq[msg.ConversationID]
		switch {
		case msg.Seq <= last:
			m.dups.Add(1)
		case msg.Seq > last+1:
			m.gaps.Add(msg.Seq - last - 1)
		}
		p.lastSeq[msg.ConversationID] = max(last, msg.Seq)
		p.mu.Unlock()
		own := msg.SenderID == p.myID.Load() && (msg.SenderRole == protocol.RoleClient) == !p.staff
		if own || msg.Seq <= last {
			return
		}
		if at, ok := intendedOf(msg.Body); ok {
			m.record(m.dlv, at)
			m.delivered.Add(1)
			m.lastDlv.Store(time.Now().UnixNano())
		}
		// Counselor j answers every replyEvery-th message of the clients
		// whose conversation falls to it. Conversations are offset from
		// one another so that answers (the first of which claims the
		// conversation) come at a steady rate: answering every
		// conversation's 10th message answered 1,000 of them within the
		// same 2 s, doubling the load there.
		if p.staff && msg.SenderRole == protocol.RoleClient && c.replyEvery > 0 &&
			int(msg.ConversationID)%c.counselors == p.idx && (msg.Seq+msg.ConversationID)%int64(c.replyEvery) == 0 {
			select {
			case p.replies <- msg.ConversationID:
			default:
			}
		}
	}
}

// freeAddr returns a loopback address with a port free at the moment.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// fetchPprof writes what a pprof URL of the server answers to path.
func fetchPprof(ctx context.Context, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("fetch %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("fetch %s: %s", url, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}

func ms(us int64) string { return fmt.Sprintf("%.2f", float64(us)/1000) }

func printResults(w io.Writer, relay, taiwa *result) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\tconns\tsent\tacked\tdelivered/expected\tdup\tgap\treconn\tack p50 ms\tp99\tp99.9\tdelivery p50 ms\tp99\tp99.9\tdeliveries/s\tKiB/conn\t")
	for _, r := range []*result{relay, taiwa} {
		perConn := float64(r.rssConnected-r.rssBase) / float64(r.conns) / 1024
		rate := float64(r.delivered) / r.elapsed.Seconds()
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d/%d\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%.0f\t%.1f\t\n", r.name, r.conns, r.sent, r.acked,
			r.delivered, r.expected, r.dups, r.gaps, r.reconnects,
			ms(r.ack.ValueAtQuantile(50)), ms(r.ack.ValueAtQuantile(99)), ms(r.ack.ValueAtQuantile(99.9)),
			ms(r.delivery.ValueAtQuantile(50)), ms(r.delivery.ValueAtQuantile(99)), ms(r.delivery.ValueAtQuantile(99.9)),
			rate, perConn)
	}
	tw.Flush()
	ratio := func(q float64, h func(*result) *hdrhistogram.Histogram) string {
		return fmt.Sprintf("%.2f", float64(h(taiwa).ValueAtQuantile(q))/float64(max(1, h(relay).ValueAtQuantile(q))))
	}
	ack := func(r *result) *hdrhistogram.Histogram { return r.ack }
	dlv := func(r *result) *hdrhistogram.Histogram { return r.delivery }
	memT := float64(taiwa.rssConnected-taiwa.rssBase) / float64(taiwa.conns)
	memR := float64(relay.rssConnected-relay.rssBase) / float64(relay.conns)
	fmt.Fprintf(w, "\ntaiwa / relay: ack p50 %s, p99 %s, p99.9 %s; delivery p50 %s, p99 %s, p99.9 %s; memory per connection %.2f\n",
		ratio(50, ack), ratio(99, ack), ratio(99.9, ack), ratio(50, dlv), ratio(99, dlv), ratio(99.9, dlv), memT/max(1, memR))
	fmt.Fprintf(w, "server RSS during the load: relay %.0f MiB, taiwa %.0f MiB\n", float64(relay.rssHi)/(1<<20), float64(taiwa.rssHi)/(1<<20))
	perMsg := func(r *result) float64 { return float64(r.cpu.Microseconds()) / float64(max(1, r.sent)) }
	fmt.Fprintf(w, "server CPU per message sent (user+system, schedule and tail): relay %.0f µs, taiwa %.0f µs: %.2f×\n",
		perMsg(relay), perMsg(taiwa), perMsg(taiwa)/max(1, perMsg(relay)))
}
