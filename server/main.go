// Command taiwa is Taiwa's sync server and its operator tools.
//
//	taiwa serve [--addr A] [--data DIR] …   run the server
//	taiwa org create --name N --admin LOGIN  create an organisation and its first admin
//	taiwa demo [--data DIR]                  create a demo organisation (first run only)
//	taiwa version
//
// Every flag has a TAIWA_* environment equivalent (--base-url is TAIWA_BASE_URL).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() { os.Exit(mainWithSignals()) }

// mainWithSignals runs the command with SIGINT and SIGTERM turned into a
// graceful shutdown.
func mainWithSignals() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx, os.Args[1:], os.Stdout, os.Stderr)
}
