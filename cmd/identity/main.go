// Command identity is our stand-in for the external identity service; see
// internal/provider/identity for its contract and its deterministic rules.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/loandesk/loandesk/internal/provider"
	"github.com/loandesk/loandesk/internal/provider/identity"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := provider.Run(ctx, "identity", ":7002", identity.Handler(), os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "identity: %v\n", err)
		os.Exit(1)
	}
}
