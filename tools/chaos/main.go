// Command chaos proves, against the running compose stack, that LoanDesk
// keeps every filing through crashes and outages, and holds its limits
// under abuse. It files new requests at a steady rate through web, each
// retried with its own Idempotency-Key until answered, as a real client
// would, while it kills (-9) an api replica, a worker, PostgreSQL and Valkey,
// stops the scoring service and slows identity; then it checks PostgreSQL
// and every container's log. It prints what it measured and exits non-zero
// when a claim does not hold.
//
// It runs in a container of the stack's project (tools/chaos/run.sh) with
// the Docker socket and the host's PID namespace, to crash processes the way
// the kernel would.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

type config struct {
	web, database, dbPassword string
	project, socket           string
	admin, adminPassword      string
	rate                      int
	duration, drainLimit      time.Duration
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	var c config
	fs := flag.NewFlagSet("chaos", flag.ContinueOnError)
	fs.StringVar(&c.web, "web", "http://web:8080", "the stack's entry point")
	fs.StringVar(&c.database, "database", "", "PostgreSQL URL, to check what was stored")
	fs.StringVar(&c.dbPassword, "database-password-file", "", "file holding the database password (replaces the URL's)")
	fs.StringVar(&c.project, "project", "loandesk-test", "compose project of the stack")
	fs.StringVar(&c.socket, "docker", "/var/run/docker.sock", "Docker Engine socket")
	fs.StringVar(&c.admin, "admin", "admin@loandesk.local", "the admin account")
	fs.StringVar(&c.adminPassword, "admin-password-file", "", "file holding the admin's password")
	fs.IntVar(&c.rate, "rate", 20, "new filings per second")
	fs.DurationVar(&c.duration, "duration", 90*time.Second, "how long filings keep coming")
	fs.DurationVar(&c.drainLimit, "drain-limit", 60*time.Second, "how long after the last fault every request must be decided")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if c.database == "" || c.adminPassword == "" {
		return errors.New("-database and -admin-password-file are required")
	}
	pw, err := os.ReadFile(c.adminPassword)
	if err != nil {
		return err
	}
	c.adminPassword = strings.TrimSpace(string(pw))
	if c.dbPassword != "" {
		pw, err := os.ReadFile(c.dbPassword)
		if err != nil {
			return err
		}
		u, err := url.Parse(c.database)
		if err != nil {
			return fmt.Errorf("-database: %w", err)
		}
		u.User = url.UserPassword(u.User.Username(), strings.TrimSpace(string(pw)))
		c.database = u.String()
	}
	s := &suite{cfg: c, docker: newEngine(c.socket, c.project)}
	if err := s.open(ctx); err != nil {
		return err
	}
	defer s.close()

	s.section("abuse: a flood of wrong logins")
	s.loginFlood(ctx)
	s.section("abuse: identity mismatches against a slow scoring service")
	s.breakerAbuse(ctx)
	s.section(fmt.Sprintf("chaos: %d new filings/s for %s, with faults", c.rate, c.duration))
	s.chaos(ctx)
	s.section("personal data in logs")
	s.scanLogs(ctx)

	if len(s.failures) > 0 {
		fmt.Printf("\n%d claim(s) failed:\n", len(s.failures))
		for _, f := range s.failures {
			fmt.Println("  - " + f)
		}
		return errors.New("the stack did not hold")
	}
	fmt.Println("\nchaos: every claim held")
	return nil
}
