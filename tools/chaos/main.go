// Command chaos proves, against the running compose stack, that LoanDesk
// keeps every filing through crashes and outages, and holds every bound
// whatever a client sends. It runs once per phase (tools/chaos/run.sh changes
// the stack between them):
//
//	-phase soak    at the production limits, beside a CPU hog: a flood of
//	               wrong logins, then random traffic nobody listed, slowloris
//	               and logins with random emails from one address while an
//	               honest client and an admin work from another; then the
//	               limits' Valkey is filled and every limit tried again; the
//	               logs so far are searched for the run's personal data
//	-phase faults  with the per-client limits raised for one busy client:
//	               identity mismatches against a slow scoring service, then
//	               filings at a steady rate, each retried with its own
//	               Idempotency-Key until answered, while it kills (-9) an api
//	               replica, a worker, PostgreSQL and Valkey, stops scoring and
//	               slows identity; then what PostgreSQL kept
//	-phase alerts  with the ops profile up: every worker and scoring stopped
//	               while filings keep coming; the cause alerts reach a
//	               webhook served here, and resolve after recovery
//	-phase scan    every container's log and every span the stack exported,
//	               for every DNI, email, name, session id and CSRF token used
//
// It prints what it measured and exits non-zero when a claim does not hold.
// It runs in a container of the stack's project with the Docker socket and
// the host's PID namespace, to crash processes the way the kernel would.
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
	phase, web, spans    string
	alertListen, prom    string
	database, dbPassword string
	project, socket      string
	admin, adminPassword string
	rate                 int
	duration, drainLimit time.Duration
	soak                 soakLimits
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
	fs.StringVar(&c.phase, "phase", "", "soak, faults, alerts or scan")
	fs.StringVar(&c.web, "web", "", "the stack's entry point (default: web's address on the edge network)")
	fs.StringVar(&c.spans, "spans", "http://tracestat:4318", "the span sink (tracestat -dump)")
	fs.StringVar(&c.alertListen, "alert-listen", ":9099", "alerts: the webhook Alertmanager posts to (its alert_webhook_url secret names it)")
	fs.StringVar(&c.prom, "prometheus", "http://prometheus:9090", "alerts: the ops profile's Prometheus")
	fs.IntVar(&c.soak.junk, "junk", 100_000, "soak: random requests")
	fs.IntVar(&c.soak.concurrency, "junk-concurrency", 48, "soak: connections sending them at once")
	fs.IntVar(&c.soak.slowloris, "slowloris", 3000, "soak: half-sent connections")
	fs.IntVar(&c.soak.logins, "logins", 20_000, "soak: logins with random emails (half through web, half to the api replicas)")
	fs.Uint64Var(&c.soak.apiMemory, "api-memory", 110<<20, "soak: ceiling of an api replica's memory, bytes (its container limit is 128 MiB)")
	fs.Uint64Var(&c.soak.metricsSize, "metrics-size", 128<<10, "soak: ceiling of an api replica's /metrics, bytes")
	fs.Uint64Var(&c.soak.valkeyMemory, "valkey-memory", 8<<20, "soak: ceiling of each Valkey's used_memory, bytes")
	fs.DurationVar(&c.soak.honestP99, "honest-p99", time.Second, "soak: ceiling of the honest client's p99")
	fs.Float64Var(&c.soak.honestShare, "honest-share", 0.99, "soak: share of the honest client's requests that must succeed")
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
	docker, err := newEngine(c.socket, c.project)
	if err != nil {
		return err
	}
	s := &suite{cfg: c, docker: docker}
	if err := s.open(ctx); err != nil {
		return err
	}
	defer s.close()

	switch c.phase {
	case "soak":
		s.section("abuse: a flood of wrong logins")
		s.loginFlood(ctx)
		s.section(fmt.Sprintf("soak: %d random requests, %d slowloris connections and %d logins with random emails from one address, beside a CPU hog",
			c.soak.junk, c.soak.slowloris, c.soak.logins))
		s.soak(ctx, c.soak)
		// The api and web containers are replaced for the next phase: their
		// logs are read now (the spans at the end).
		s.section("personal data in the logs so far")
		s.scan(ctx, false)
	case "faults":
		s.section("abuse: identity mismatches against a slow scoring service")
		s.breakerAbuse(ctx)
		s.section(fmt.Sprintf("chaos: %d new filings/s for %s, with faults", c.rate, c.duration))
		s.chaos(ctx)
	case "alerts":
		s.section("alerts: every worker and scoring stopped, filings still coming; Prometheus and Alertmanager must tell the webhook")
		s.alerts(ctx, c.alertListen, c.prom)
	case "scan":
		if err := s.loadUsed("soak", "faults", "alerts"); err != nil {
			return err
		}
		s.section("searches while the api is down (its replicas are stopped)")
		s.searchWhileDown(ctx)
		s.section("personal data in every log and every exported span")
		s.scan(ctx, true)
	default:
		return fmt.Errorf("-phase %q: want soak, faults, alerts or scan", c.phase)
	}
	if c.phase != "scan" {
		if err := s.saveUsed(c.phase); err != nil {
			return err
		}
	}

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
