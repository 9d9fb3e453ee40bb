package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// overloadCmd offers Taiwa more than it can commit for a while, then a
// normal load, and shows what the apps saw: whether any connection was
// dropped or anything acknowledged lost, how many sends were refused as
// busy (and sent again by the apps), and the acks' latency second by
// second, to see how soon it is back to normal.
func overloadCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c loadConfig
	fs := flag.NewFlagSet("overload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.server, "server", "bin/taiwa", "path to the taiwa server binary")
	fs.IntVar(&c.clients, "clients", 1000, "client connections")
	fs.IntVar(&c.counselors, "counselors", 10, "counselor connections")
	fs.Float64Var(&c.rate, "rate", 3000, "client messages per second during the overload (open loop)")
	fs.DurationVar(&c.duration, "duration", 60*time.Second, "length of the overload")
	fs.Float64Var(&c.thenRate, "then-rate", 300, "client messages per second afterwards")
	fs.DurationVar(&c.thenDuration, "then-duration", 30*time.Second, "length of the normal load afterwards")
	fs.IntVar(&c.replyEvery, "reply-every", 10, "counselors answer every Nth client message (0: never)")
	normal := fs.Duration("normal-p99", 100*time.Millisecond, "a second whose ack p99 is at most this is back to normal")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if c.clients < 1 || c.counselors < 1 || c.rate <= 0 || c.duration <= 0 || c.thenRate <= 0 || c.thenDuration <= 0 {
		return errors.New("clients, counselors, rates and durations must be positive")
	}
	c.tail = 5 * time.Minute // every refused send must come back and be stored
	pinSelf()
	fmt.Fprintf(stdout, "load: %d clients + %d counselors, %.0f client msgs/s for %s, then %.0f/s for %s, counselors answer every %dth\n\n",
		c.clients, c.counselors, c.rate, c.duration, c.thenRate, c.thenDuration, c.replyEvery)
	t, err := startTaiwa(ctx, stderr, c.server, c.clients, c.counselors)
	if err != nil {
		return fmt.Errorf("start taiwa: %w", err)
	}
	defer t.stop()
	c.cpu = func() time.Duration { return cpuTime([]int{t.pid}) }
	r, err := drive(ctx, t, c)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "sent %d, acked %d, delivered %d/%d, dup %d, gap %d, reconnects %d, not connected at the end %d, still in outboxes %d, refused as busy %d (sent again)\n",
		r.sent, r.acked, r.delivered, r.expected, r.dups, r.gaps, r.reconnects, r.disconnected, r.pending, r.busy)
	for why, n := range r.reconnectWhy {
		fmt.Fprintf(stdout, "  lost %d× : %s\n", n, why)
	}
	fmt.Fprintf(stdout, "ack p50 %s ms, p99 %s ms over the whole run\n\n", ms(r.ack.ValueAtQuantile(50)), ms(r.ack.ValueAtQuantile(99)))

	// Second by second (by when each message was due).
	end := int64(c.duration / time.Second)
	back := int64(-1)
	printSeconds(stdout, r.windows, r.ackedIn, func(s int64, h *hdrhistogram.Histogram) string {
		if s < end {
			return "overload"
		}
		if h.TotalCount() == 0 {
			return "after" // acks arrived, none was due
		}
		if p99 := time.Duration(h.ValueAtQuantile(99)) * time.Microsecond; p99 > *normal {
			back = -1 // not yet for good
		} else if back < 0 {
			back = s - end
		}
		return "normal"
	})
	if back >= 0 {
		fmt.Fprintf(stdout, "\nback to normal (every later second's ack p99 ≤ %s) %d s after the overload ended\n", *normal, back)
	} else {
		fmt.Fprintf(stdout, "\nnot back to normal (ack p99 ≤ %s) by the end of the run\n", *normal)
	}
	if !r.clean() || r.disconnected > 0 || r.pending > 0 {
		return errors.New("taiwa lost, duplicated or reordered messages, or left some unsent")
	}
	return nil
}

// printSeconds shows the acks second by second: by the second each
// message was due (how many, their latency) and, last, how many acks
// arrived in that second (the server's throughput then).
func printSeconds(w io.Writer, windows map[int64]*hdrhistogram.Histogram, ackedIn map[int64]int64, phase func(int64, *hdrhistogram.Histogram) string) {
	secs := slices.Sorted(maps.Keys(windows))
	if len(ackedIn) > 0 {
		secs = slices.Compact(slices.Sorted(slices.Values(append(secs, slices.Collect(maps.Keys(ackedIn))...))))
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "second\tphase\tdue and acked\tack p50 ms\tp99\tmax\tacks arrived\t")
	empty := hdrhistogram.New(1, 600_000_000, 2)
	for _, s := range secs {
		h := windows[s]
		if h == nil {
			h = empty
		}
		p := "-"
		if phase != nil {
			p = phase(s, h)
		}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\t%s\t%d\t\n", s, p, h.TotalCount(), ms(h.ValueAtQuantile(50)), ms(h.ValueAtQuantile(99)), ms(h.Max()), ackedIn[s])
	}
	tw.Flush()
}
