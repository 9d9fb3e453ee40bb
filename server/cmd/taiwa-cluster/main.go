// Command taiwa-cluster runs Taiwa as a cluster on loopback for
// development (make run-cluster): a throwaway PostgreSQL, three replicas
// and Debian's nginx in front, with a demo organisation. Everything is
// removed when it stops (Ctrl-C).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/taiwa-chat/taiwa/server/internal/devcluster"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("taiwa-cluster", flag.ContinueOnError)
	fs.SetOutput(stderr)
	bin := fs.String("bin", "bin/taiwa", "the taiwa server binary")
	addr := fs.String("addr", "127.0.0.1:8080", "the proxy's address")
	replicas := fs.Int("replicas", 3, "how many servers")
	verbose := fs.Bool("v", false, "show the replicas' logs")
	cert := fs.String("tls-cert", "", "serve HTTPS from nginx with this certificate (with --tls-key)")
	key := fs.String("tls-key", "", "the certificate's key")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	var log io.Writer = io.Discard
	if *verbose {
		log = stderr
	}
	fmt.Fprintf(stdout, "Starting PostgreSQL, %d replicas and nginx on loopback…\n", *replicas)
	if (*cert == "") != (*key == "") {
		fmt.Fprintln(stderr, "taiwa-cluster: --tls-cert and --tls-key go together")
		return 2
	}
	c, err := devcluster.Start(ctx, devcluster.Options{Bin: *bin, Replicas: *replicas, Addr: *addr, Log: log, TLSCert: *cert, TLSKey: *key})
	if err != nil {
		fmt.Fprintln(stderr, "taiwa-cluster:", err)
		return 1
	}
	defer c.Close()
	demo := exec.CommandContext(ctx, *bin, append([]string{"demo"}, c.Flags(filepath.Join(c.Dir, "demo"))...)...)
	demo.Stdout, demo.Stderr = stdout, stderr
	if err := demo.Run(); err != nil {
		fmt.Fprintln(stderr, "taiwa-cluster: demo:", err)
		return 1
	}
	fmt.Fprintf(stdout, "\nPostgreSQL: %s\n", c.DSN)
	for _, r := range c.Replicas {
		fmt.Fprintf(stdout, "replica %s: %s (pid %d)\n", r.Name, r.URL, r.Pid())
	}
	fmt.Fprintf(stdout, "\nTaiwa is serving through nginx on %s\nClients open the app at %s/ ; the desktop app: TAIWA_SERVER=%s bin/taiwa-desktop\nCtrl-C stops everything and removes its data.\n", c.URL, c.URL, c.URL)
	<-ctx.Done()
	fmt.Fprintln(stdout, "\nstopping…")
	return 0
}
