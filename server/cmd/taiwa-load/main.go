// Command taiwa-load measures the sync server under load over loopback.
//
//	taiwa-load compare --server bin/taiwa --clients 1000 --counselors 10 --rate 500 --duration 30s
//	taiwa-load idle    --server bin/taiwa --conns 10000
//	taiwa-load storm   --server bin/taiwa --clients 1000 --outage 2s
//	taiwa-load overload --server bin/taiwa --rate 3000 --duration 60s --then-rate 300 --then-duration 30s
//	taiwa-load cluster --server bin/taiwa --clients 1000 --counselors 10 --rate 500 --duration 30s
//	taiwa-load chaos   --server bin/taiwa
//	taiwa-load relay   --addr 127.0.0.1:0   (the bare relay, started by the others)
//
// compare drives the same open-loop load against Taiwa and against a bare
// WebSocket relay with no storage (built into this tool), and prints
// Taiwa's figures as ratios to the relay's. idle holds many connections
// open and reports memory per connection and fan-out latency. storm cuts
// every client's connection at once and measures how long they take to
// come back and catch up. overload offers more than the server can
// commit, then a normal load, and shows how soon acks are back to normal.
// cluster drives the same load through three
// replicas on PostgreSQL behind nginx and through one server on SQLite,
// and finds the highest rate each keeps with ack p99 ≤ 50 ms. chaos
// kills, freezes and restarts replicas and PostgreSQL under load and
// checks nothing acknowledged is lost.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: taiwa-load compare|idle|storm|overload|cluster|chaos|relay [flags]")
		return 2
	}
	var err error
	switch args[0] {
	case "compare":
		err = compareCmd(ctx, args[1:], stdout, stderr)
	case "idle":
		err = idleCmd(ctx, args[1:], stdout, stderr)
	case "storm":
		err = stormCmd(ctx, args[1:], stdout, stderr)
	case "overload":
		err = overloadCmd(ctx, args[1:], stdout, stderr)
	case "relay":
		err = relayCmd(ctx, args[1:], stdout, stderr)
	case "chaos":
		err = chaosCmd(ctx, args[1:], stdout, stderr)
	case "cluster":
		err = clusterCmd(ctx, args[1:], stdout, stderr)
	default:
		fmt.Fprintf(stderr, "unknown command %q\n", args[0])
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, "taiwa-load:", err)
		return 1
	}
	return 0
}
