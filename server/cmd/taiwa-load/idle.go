package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/taiwa-chat/taiwa/pkg/client"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// idleCmd holds many client connections open and reports the server's
// memory per connection, how long they took to come up, and (for Taiwa)
// how long a settings change takes to reach all of them.
func idleCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("idle", flag.ContinueOnError)
	fs.SetOutput(stderr)
	server := fs.String("server", "bin/taiwa", "path to the taiwa server binary")
	conns := fs.Int("conns", 10000, "client connections to hold open")
	profile := fs.String("profile", "", "write Taiwa's heap profile with every connection up to this file (pprof)")
	cpuProfile := fs.String("cpu-profile", "", "write Taiwa's CPU profile of the first --cpu-seconds of connections coming up to this file (pprof)")
	cpuSeconds := fs.Int("cpu-seconds", 5, "how long --cpu-profile samples")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *conns < 1 {
		return errors.New("--conns must be positive")
	}
	pinSelf()
	fmt.Fprintf(stdout, "idle: %d client connections held open\n\n", *conns)
	type row struct {
		name           string
		up             time.Duration
		cpu            time.Duration // the server's, bringing every connection up
		perConn        float64
		rss            int64
		fanout         *hdrhistogram.Histogram
		fanoutReceived int64
		goMem          map[string]float64 // the Go runtime's figures, with every connection up
	}
	var rows []row
	for _, name := range []string{"relay", "taiwa"} {
		var (
			t           *target
			err         error
			metricsAddr string
		)
		if name == "relay" {
			t, err = startRelay(ctx, stderr, *conns, 0)
		} else {
			// The metrics address also tells where Taiwa's memory is
			// (heap, stacks, goroutines per connection).
			if metricsAddr, err = freeAddr(); err != nil {
				return err
			}
			extra := []string{"--metrics-addr", metricsAddr}
			t, err = startTaiwa(ctx, stderr, *server, *conns, 0, extra...)
		}
		if err != nil {
			return fmt.Errorf("start %s: %w", name, err)
		}
		r := row{name: name}
		base := rss(t.pid)
		runCtx, cancel := context.WithCancel(ctx)
		var (
			wg       sync.WaitGroup
			received atomic.Int64
			changed  atomic.Int64 // when the settings change was sent
			hmu      sync.Mutex
		)
		r.fanout = hdrhistogram.New(1, 120_000_000, 3)
		start, cpu0 := time.Now(), cpuTime([]int{t.pid})
		cpuDone := make(chan struct{})
		if metricsAddr != "" && *cpuProfile != "" {
			go func() {
				defer close(cpuDone)
				if err := fetchPprof(ctx, fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", metricsAddr, *cpuSeconds), *cpuProfile); err != nil {
					fmt.Fprintf(stderr, "cpu profile: %v\n", err)
				}
			}()
		} else {
			close(cpuDone)
		}
		ready := make([]chan struct{}, *conns)
		// Come up in waves, as a real population reconnecting would, rather
		// than one burst that overflows the listen backlog.
		const wave = 500
		for i := 0; i < *conns; i++ {
			ready[i] = make(chan struct{})
			var once sync.Once
			live := client.New(t.url, t.clientTokens[i]).Live(client.LiveOptions{OnEvent: func(ev client.Event) {
				switch ev.Frame.(type) {
				case *protocol.Synced:
					once.Do(func() { close(ready[i]) })
				case *protocol.SettingsFrame:
					if at := changed.Load(); at != 0 {
						hmu.Lock()
						_ = r.fanout.RecordValue(max(1, (time.Now().UnixNano()-at)/1000))
						hmu.Unlock()
						received.Add(1)
					}
				}
			}})
			wg.Add(1)
			go func() { defer wg.Done(); live.Run(runCtx) }()
			if i%wave == wave-1 {
				for j := i - wave + 1; j <= i; j++ {
					select {
					case <-ready[j]:
					case <-time.After(60 * time.Second):
						cancel()
						wg.Wait()
						t.stop()
						return fmt.Errorf("%s: connection %d did not come up", name, j)
					}
				}
			}
		}
		for i := range ready {
			<-ready[i]
		}
		r.up, r.cpu = time.Since(start), cpuTime([]int{t.pid})-cpu0
		<-cpuDone
		time.Sleep(2 * time.Second)
		r.rss = rss(t.pid)
		r.perConn = float64(r.rss-base) / float64(*conns) / 1024
		if metricsAddr != "" {
			if r.goMem, err = goMemory(ctx, metricsAddr); err != nil {
				fmt.Fprintf(stderr, "metrics: %v\n", err)
			}
		}
		if metricsAddr != "" && *profile != "" {
			if err := fetchPprof(ctx, "http://"+metricsAddr+"/debug/pprof/heap", *profile); err != nil {
				fmt.Fprintf(stderr, "profile: %v\n", err)
			}
		}
		if t.adminToken != "" {
			admin := client.New(t.url, t.adminToken)
			name := "負荷試験（更新）"
			changed.Store(time.Now().UnixNano())
			if _, err := admin.UpdateSettings(ctx, protocol.SettingsPatch{DisplayName: &name}); err != nil {
				cancel()
				wg.Wait()
				t.stop()
				return fmt.Errorf("settings change: %w", err)
			}
			deadline := time.Now().Add(30 * time.Second)
			for received.Load() < int64(*conns) && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			r.fanoutReceived = received.Load()
		}
		cancel()
		wg.Wait()
		t.stop()
		rows = append(rows, r)
	}
	for _, r := range rows {
		fmt.Fprintf(stdout, "%-6s %d connections up in %.1fs (server CPU %.0f µs per connection); server RSS %.0f MiB, %.1f KiB per connection\n",
			r.name, *conns, r.up.Seconds(), float64(r.cpu.Microseconds())/float64(*conns), float64(r.rss)/(1<<20), r.perConn)
		if m := r.goMem; m != nil {
			n := float64(*conns)
			fmt.Fprintf(stdout, "       of which Go heap in use %.1f KiB, goroutine stacks %.1f KiB per connection; %.1f goroutines per connection\n",
				m["go_memstats_heap_inuse_bytes"]/n/1024, m["go_memstats_stack_inuse_bytes"]/n/1024, m["go_goroutines"]/n)
		}
		if r.fanout.TotalCount() > 0 {
			fmt.Fprintf(stdout, "       settings change reached %d/%d: p50 %s ms, p99 %s ms, max %s ms\n", r.fanoutReceived, *conns,
				ms(r.fanout.ValueAtQuantile(50)), ms(r.fanout.ValueAtQuantile(99)), ms(r.fanout.Max()))
		}
	}
	if len(rows) == 2 && rows[0].perConn > 0 {
		fmt.Fprintf(stdout, "\ntaiwa / relay memory per connection: %.2f; time to bring all up: %.2f; server CPU per connection: %.2f\n",
			rows[1].perConn/rows[0].perConn, rows[1].up.Seconds()/rows[0].up.Seconds(), float64(rows[1].cpu)/float64(max(1, rows[0].cpu)))
	}
	return nil
}

// goMemory reads the Go runtime's memory figures from a metrics address.
func goMemory(ctx context.Context, addr string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("read metrics: %w", err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok || !strings.HasPrefix(name, "go_") {
			continue
		}
		if v, err := strconv.ParseFloat(value, 64); err == nil {
			out[name] = v
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read metrics: %w", err)
	}
	return out, nil
}
