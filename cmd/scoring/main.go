// Command scoring is our stand-in for the external scoring service; see
// internal/provider/scoring for its contract and its deterministic rules.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/loandesk/loandesk/internal/provider"
	"github.com/loandesk/loandesk/internal/provider/scoring"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := provider.Run(ctx, "scoring", ":7001", scoring.Handler(), os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "scoring: %v\n", err)
		os.Exit(1)
	}
}
