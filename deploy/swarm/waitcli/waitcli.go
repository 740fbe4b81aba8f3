// Package waitcli is what the Swarm's wait commands (swarmwait, pgwait)
// share: how they start, what they print, and the exit status a pipeline
// reads (0 done, 1 failed or timed out, 2 bad usage).
package waitcli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// UsageError is a mistake in the command line: exit status 2, not 1, so a
// pipeline tells a wrong call from a Swarm that did not do what it asked.
type UsageError string

func (u UsageError) Error() string { return string(u) }

// Main runs run until SIGINT or SIGTERM and exits with its status; name
// prefixes a usage error, prefix (may be empty) every progress line.
func Main(name, prefix string, run func(ctx context.Context) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	var usage UsageError
	switch {
	case errors.As(err, &usage):
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(2)
	case err != nil:
		Logf(os.Stderr, prefix, "FAILED: %v", err)
		os.Exit(1)
	}
}

// Logf prints one progress line, stamped with the time of day, as lib.sh's
// log does, so the pipeline's lines and ours read as one log.
func Logf(out io.Writer, prefix, format string, args ...any) {
	if prefix != "" {
		prefix += ": "
	}
	fmt.Fprintf(out, "[%s] %s%s\n", time.Now().Format("15:04:05"), prefix, fmt.Sprintf(format, args...))
}
