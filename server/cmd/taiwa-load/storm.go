package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/client"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// stormCmd drops every client's connection at once (a network outage
// between the phones and the server), has a counselor answer every one of
// them meanwhile, and measures how long the clients take, after the
// network is back, to reconnect and hold every message, with no gap and
// no duplicate. The bare relay has no history to resume from, so there is
// no relay row: the figures stand alone.
func stormCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("storm", flag.ContinueOnError)
	fs.SetOutput(stderr)
	server := fs.String("server", "bin/taiwa", "path to the taiwa server binary")
	clients := fs.Int("clients", 1000, "client connections")
	outage := fs.Duration("outage", 2*time.Second, "how long the network stays down")
	runs := fs.Int("runs", 3, "storms, one after another on the same server")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *clients < 1 || *outage < 0 || *runs < 1 {
		return errors.New("--clients and --runs must be positive, --outage not negative")
	}
	pinSelf()
	t, err := startTaiwa(ctx, stderr, *server, *clients, 1)
	if err != nil {
		return fmt.Errorf("start taiwa: %w", err)
	}
	defer t.stop()
	px, err := newCutProxy(t.url)
	if err != nil {
		return err
	}
	defer px.Close()
	fmt.Fprintf(stdout, "storm: %d clients through a proxy that cuts them all at once for %s; a counselor answers each meanwhile\n\n", *clients, *outage)

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	cls := make([]*stormClient, *clients)
	for i := range cls {
		c := &stormClient{synced: make(chan struct{}), caughtUp: make(chan struct{}, 1)}
		c.live = client.New(px.URL(), t.clientTokens[i]).Live(client.LiveOptions{OnEvent: c.on})
		cls[i] = c
		wg.Add(1)
		go func() { defer wg.Done(); c.live.Run(runCtx) }()
	}
	co := client.New(t.url, t.staffTokens[0]).Live(client.LiveOptions{})
	wg.Add(1)
	go func() { defer wg.Done(); co.Run(runCtx) }()
	// Every client speaks first: its conversation exists and it knows it.
	var sendErr atomic.Value
	var sends sync.WaitGroup
	for i, c := range cls {
		select {
		case <-c.synced:
		case <-time.After(2 * time.Minute):
			return fmt.Errorf("client %d never synced", i)
		}
		sends.Add(1)
		go func() {
			defer sends.Done()
			m, err := c.live.Send(runCtx, 0, fmt.Sprintf("相談 %d: 最近眠れません。", i))
			if err != nil {
				sendErr.Store(err)
				return
			}
			c.conv = m.ConversationID
		}()
	}
	sends.Wait()
	if err, _ := sendErr.Load().(error); err != nil {
		return fmt.Errorf("client send: %w", err)
	}

	// A client hears its own message twice (the ack and the echo to its
	// other devices): not a storm's duplicate.
	time.Sleep(500 * time.Millisecond)
	for _, c := range cls {
		c.gaps.Store(0)
		c.dups.Store(0)
	}
	px.accepted.Store(0)
	// "back" is from the network's return to caught up (the apps' backoff
	// included); "welcome" from the server's welcome to caught up (the
	// replay alone).
	fmt.Fprintln(stdout, "run\tcut\toutage ms\treconnects\tback p50 ms\tp99\tmax\twelcome p50 ms\tp99\tmax\tgaps\tdups")
	for r := 1; r <= *runs; r++ {
		for _, c := range cls {
			c.mu.Lock()
			c.want = c.last + 1
			c.mu.Unlock()
		}
		px.Cut()
		// The counselor answers everyone while they are away.
		for _, c := range cls {
			sends.Add(1)
			go func() {
				defer sends.Done()
				if _, err := co.Send(runCtx, c.conv, fmt.Sprintf("返信 %d です。お話を聞かせてください。", r)); err != nil {
					sendErr.Store(err)
				}
			}()
		}
		sends.Wait()
		if err, _ := sendErr.Load().(error); err != nil {
			return fmt.Errorf("counselor send: %w", err)
		}
		time.Sleep(max(0, *outage-time.Since(px.cutAt)))
		back := px.Resume()
		lat := make([]time.Duration, len(cls))
		replay := make([]time.Duration, len(cls))
		for i, c := range cls {
			select {
			case <-c.caughtUp:
				c.mu.Lock()
				lat[i] = c.caughtAt.Sub(back)
				replay[i] = c.caughtAt.Sub(c.welcomeAt)
				c.mu.Unlock()
			case <-time.After(2 * time.Minute):
				return fmt.Errorf("run %d: client %d never caught up", r, i)
			}
		}
		slices.Sort(lat)
		slices.Sort(replay)
		var gaps, dups int64
		for _, c := range cls {
			gaps += c.gaps.Swap(0)
			dups += c.dups.Swap(0)
		}
		q := func(d []time.Duration) (float64, float64, float64) {
			return msOf(d[len(d)/2]), msOf(d[len(d)*99/100]), msOf(d[len(d)-1])
		}
		b50, b99, bmax := q(lat)
		w50, w99, wmax := q(replay)
		fmt.Fprintf(stdout, "%d\t%d\t%.0f\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%d\t%d\n", r, px.cutCount(), msOf(back.Sub(px.cutAt)), px.accepted.Swap(0),
			b50, b99, bmax, w50, w99, wmax, gaps, dups)
		if gaps > 0 || dups > 0 {
			return fmt.Errorf("run %d: %d gaps, %d duplicates", r, gaps, dups)
		}
	}
	return nil
}

func msOf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// stormClient follows one client's conversation by sequence number.
type stormClient struct {
	live       *client.Live
	conv       int64
	synced     chan struct{}
	syncedOnce sync.Once
	caughtUp   chan struct{}

	mu        sync.Mutex
	last      int64 // highest seq held
	want      int64 // the seq that completes this storm
	caughtAt  time.Time
	welcomeAt time.Time // the latest welcome
	gaps      atomic.Int64
	dups      atomic.Int64
}

func (c *stormClient) on(ev client.Event) {
	switch f := ev.Frame.(type) {
	case *protocol.Welcome:
		c.mu.Lock()
		c.welcomeAt = time.Now()
		c.mu.Unlock()
	case *protocol.Synced:
		c.syncedOnce.Do(func() { close(c.synced) })
	case *protocol.Ack:
		c.see(f.Message.Seq)
	case *protocol.MessageFrame:
		c.see(f.Message.Seq)
	}
}

func (c *stormClient) see(seq int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case seq <= c.last:
		c.dups.Add(1)
		return
	case seq > c.last+1:
		c.gaps.Add(seq - c.last - 1)
	}
	c.last = seq
	if c.want > 0 && seq >= c.want {
		c.want = 0
		c.caughtAt = time.Now()
		c.caughtUp <- struct{}{}
	}
}

// cutProxy forwards TCP connections to the server and can cut them all
// at once, refusing new ones until resumed: the network between the
// phones and the server going down.
type cutProxy struct {
	ln       net.Listener
	target   string
	accepted atomic.Int64

	mu    sync.Mutex
	down  bool
	conns map[net.Conn]struct{}
	cutAt time.Time
	cuts  int
}

func newCutProxy(serverURL string) (*cutProxy, error) {
	u, err := url.Parse(serverURL)
	if err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	p := &cutProxy{ln: ln, target: u.Host, conns: map[net.Conn]struct{}{}}
	go p.serve()
	return p, nil
}

// URL is the server's address through the proxy.
func (p *cutProxy) URL() string { return "http://" + p.ln.Addr().String() }

func (p *cutProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.down {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.accepted.Add(1)
		p.conns[c] = struct{}{}
		p.mu.Unlock()
		go p.pipe(c)
	}
}

func (p *cutProxy) pipe(c net.Conn) {
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		p.drop(c)
		return
	}
	p.mu.Lock()
	p.conns[s] = struct{}{}
	p.mu.Unlock()
	go func() { io.Copy(s, c); p.drop(s); p.drop(c) }()
	io.Copy(c, s)
	p.drop(c)
	p.drop(s)
}

func (p *cutProxy) drop(c net.Conn) {
	c.Close()
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

// Cut closes every connection (both sides see a reset, as when a link
// dies) and refuses new ones.
func (p *cutProxy) Cut() {
	p.mu.Lock()
	p.down, p.cutAt = true, time.Now()
	p.cuts = len(p.conns) / 2
	conns := make([]net.Conn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	for _, c := range conns {
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
		c.Close()
	}
}

func (p *cutProxy) cutCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cuts
}

// Resume lets connections through again and returns when.
func (p *cutProxy) Resume() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = false
	return time.Now()
}

func (p *cutProxy) Close() { p.ln.Close(); p.Cut() }
