// Command loandesk is the LoanDesk backend, one binary with four commands:
//
//	loandesk serve        the HTTP API
//	loandesk worker       decides the requests the API could not decide at once
//	loandesk migrate      applies the database migrations, then exits
//	loandesk healthcheck  probes a running serve or worker (for HEALTHCHECK)
//
// All configuration comes from environment variables; see docs/configuration.md.
package main

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/sethvargo/go-retry"

	"github.com/loandesk/loandesk/api"
	"github.com/loandesk/loandesk/internal/client/identity"
	"github.com/loandesk/loandesk/internal/client/resilient"
	"github.com/loandesk/loandesk/internal/client/scoring"
	"github.com/loandesk/loandesk/internal/clientaddr"
	"github.com/loandesk/loandesk/internal/domain"
	"github.com/loandesk/loandesk/internal/httpapi"
	"github.com/loandesk/loandesk/internal/lifecycle"
	limiterpkg "github.com/loandesk/loandesk/internal/limiter"
	"github.com/loandesk/loandesk/internal/nginxstatus"
	"github.com/loandesk/loandesk/internal/obs"
	"github.com/loandesk/loandesk/internal/postgres"
	"github.com/loandesk/loandesk/internal/rdsauth"
	"github.com/loandesk/loandesk/internal/slo"
	"github.com/loandesk/loandesk/internal/valkey"
	"github.com/loandesk/loandesk/internal/worker"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "loandesk: %v\n", err)
		os.Exit(1)
	}
}

const usage = "usage: loandesk serve|worker|migrate|admin|nginx-exporter|healthcheck [flags]"

// run is the whole program, callable from tests with its own arguments,
// environment and outputs.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) < 2 {
		return errors.New(usage)
	}
	cmd, rest := args[1], args[2:]
	fs := flag.NewFlagSet("loandesk "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	switch cmd {
	case "serve":
		if err := fs.Parse(rest); err != nil {
			return err
		}
		return serve(ctx, getenv, stdout)
	case "worker":
		if err := fs.Parse(rest); err != nil {
			return err
		}
		return work(ctx, getenv, stdout)
	case "migrate":
		if err := fs.Parse(rest); err != nil {
			return err
		}
		return migrate(ctx, getenv, stdout)
	case "admin":
		return admin(ctx, rest, getenv, stdin, stdout)
	case "nginx-exporter":
		if err := fs.Parse(rest); err != nil {
			return err
		}
		return nginxExporter(ctx, getenv, stdout)
	case "healthcheck":
		url := fs.String("url", "", "URL to probe (default: /healthz on LISTEN_ADDR's port)")
		if err := fs.Parse(rest); err != nil {
			return err
		}
		if *url == "" {
			addr := getenv("LISTEN_ADDR")
			if addr == "" {
				addr = ":8000"
			}
			_, port, err := net.SplitHostPort(addr)
			if err != nil {
				return fmt.Errorf("LISTEN_ADDR=%q: %w", addr, err)
			}
			*url = "http://127.0.0.1:" + port + "/healthz"
		}
		return lifecycle.Healthcheck(ctx, *url)
	}
	return fmt.Errorf("unknown command %q; %s", cmd, usage)
}

func migrate(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	cfg, err := loadConfig(getenv, need{db: true})
	if err != nil {
		return err
	}
	log := obs.NewLogger(stdout, cfg.LogLevel, "migrate")
	// A job started with its cluster (the first release), or during a
	// failover, finds no primary for some seconds: it waits, up to
	// DATABASE_WAIT, rather than fail and be restarted.
	var db *postgres.DB
	err = retry.Do(ctx, retry.WithMaxDuration(cfg.DatabaseWait, retry.NewConstant(time.Second)), func(ctx context.Context) error {
		db, err = openDB(ctx, cfg, getenv)
		var refused *pgconn.PgError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &refused) && (strings.HasPrefix(refused.Code, "28") || refused.Code == "3D000"):
			return err // wrong credentials or database: an answer, not an outage
		default:
			log.WarnContext(ctx, "no writable database yet; retrying", "error", err)
			return retry.RetryableError(err)
		}
	})
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(ctx, log); err != nil {
		return err
	}
	if cfg.AppDBRole != "" {
		return db.EnsureAppRole(ctx, cfg.AppDBRole, cfg.AppDBIAM, log)
	}
	return nil
}

// openDB connects with the URL's password, or with an IAM token made for
// each connection (DATABASE_AUTH=iam, on AWS).
func openDB(ctx context.Context, cfg config, getenv func(string) string) (*postgres.DB, error) {
	var password postgres.PasswordFunc
	if cfg.DatabaseAuth == "iam" {
		tokens, err := rdsauth.Tokens(cfg.DatabaseURL, cfg.AWSRegion, getenv)
		if err != nil {
			return nil, err
		}
		password = tokens
	}
	return postgres.Open(ctx, cfg.DatabaseURL, password)
}

// deps are what serve and worker share.
type deps struct {
	cfg     config
	log     *slog.Logger
	metrics *obs.Metrics
	db      *postgres.DB
	desk    *domain.Desk
	// stopTracing flushes the spans not exported yet.
	stopTracing func(context.Context) error
}

// close releases what open made.
func (d *deps) close() {
	d.db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = d.stopTracing(ctx)
}

// version is the module's version stamped by the build, for the traces.
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "dev"
}

func open(ctx context.Context, getenv func(string) string, stdout io.Writer, service string, n need) (*deps, error) {
	cfg, err := loadConfig(getenv, n)
	if err != nil {
		return nil, err
	}
	d := &deps{cfg: cfg, log: obs.NewLogger(stdout, cfg.LogLevel, service), metrics: obs.NewMetrics()}
	setMemoryLimit(d.log)
	if d.stopTracing, err = obs.SetupTracing(ctx, "loandesk-"+service, version(), getenv, d.log); err != nil {
		return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_ENDPOINT: %w", err)
	}
	// A container restarted while PostgreSQL restarts too waits for it
	// instead of exiting into the engine's growing restart back-off.
	if err := lifecycle.WaitFor(ctx, d.log, "PostgreSQL", func(ctx context.Context) (err error) {
		d.db, err = openDB(ctx, cfg, getenv)
		return err
	}); err != nil {
		return nil, err
	}
	client := func(name, base string) (*resilient.Client, error) {
		return resilient.New(resilient.Config{
			Service: name, BaseURL: base, AttemptTimeout: cfg.AttemptTimeout, Retries: cfg.Retries,
			BackoffBase: 100 * time.Millisecond, BackoffMax: time.Second,
			BreakerFailures: uint32(cfg.BreakerFailures), BreakerOpenFor: cfg.BreakerOpenFor,
		}, d.metrics)
	}
	sc, err := client("scoring", cfg.ScoringURL)
	if err != nil {
		d.db.Close()
		return nil, err
	}
	ic, err := client("identity", cfg.IdentityURL)
	if err != nil {
		d.db.Close()
		return nil, err
	}
	d.desk = &domain.Desk{
		Store: d.db, Identity: identity.New(ic), Scoring: scoring.New(sc),
		DecisionTimeout: cfg.DecisionTimeout, Log: d.log,
		OnDecision: func(source string, s domain.Status) { d.metrics.Decisions.WithLabelValues(source, string(s)).Inc() },
		Views:      d.db, Erasure: d.db,
	}
	return d, nil
}

// setMemoryLimit sets GOMEMLIMIT from the container's memory limit (cgroup)
// unless GOMEMLIMIT is set: the garbage collector then works harder before
// the kernel's OOM killer would, in compose, Swarm and ECS alike.
func setMemoryLimit(log *slog.Logger) {
	limit, err := memlimit.Set(memlimit.WithRatio(0.8), memlimit.WithProvider(memlimit.FromCgroup))
	if err != nil && !errors.Is(err, memlimit.ErrNoLimit) {
		log.Warn("reading the container memory limit", "err", err)
	}
	if limit > 0 && limit < math.MaxInt64 {
		log.Info("memory limit", "gomemlimit_bytes", limit)
	}
}

func serve(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	d, err := open(ctx, getenv, stdout, "api", need{db: true, valkey: true, providers: true, admin: true})
	if err != nil {
		return err
	}
	defer d.close()
	cfg := d.cfg
	// Valkey holds admin sessions only: the api starts without it (a task
	// rescheduled while Valkey's node is down must serve filings), and
	// logins answer 503 until it is back.
	vk, err := valkey.Dial(cfg.ValkeyURL, cfg.ValkeyPass, []byte(cfg.SessionKey))
	if err != nil {
		return fmt.Errorf("VALKEY_URL: %w", err)
	}
	defer vk.Close()
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	if err := vk.Ping(pctx); err != nil {
		d.log.WarnContext(ctx, "Valkey does not answer yet: admin logins wait for it, filings do not", "err", err)
	}
	cancel()
	vk = vk.WithPrefix(cfg.ValkeyPrefix)
	// The limits' own store is not waited for: while it does not answer,
	// the limits hold in this process (internal/limiter).
	limits := vk
	if cfg.LimitsURL != cfg.ValkeyURL {
		l, err := valkey.Dial(cfg.LimitsURL, cfg.LimitsPass, []byte(cfg.SessionKey))
		if err != nil {
			return fmt.Errorf("LIMITS_VALKEY_URL: %w", err)
		}
		defer l.Close()
		limits = l.WithPrefix(cfg.ValkeyPrefix)
	}
	limiter := limiterpkg.NewFallback(limits, limiterpkg.NewLocal(0), d.metrics.LimiterFallback.Inc)
	stores := map[string]*valkey.Store{"sessions": vk}
	if limits != vk {
		stores["limits"] = limits
	}
	go valkey.WatchMemory(ctx, stores, d.metrics.ValkeyMemory, d.log, 15*time.Second)
	auth := &domain.Auth{
		Admins: d.db, Sessions: vk, Limiter: limiter, SessionTTL: cfg.SessionTTL, Limits: domain.DefaultLoginLimits,
		HashSlots: domain.DefaultHashSlots, HashWait: domain.DefaultHashWait,
		DeviceKey: derivedKey(cfg.SessionKey, "loandesk device cookies"),
		MFA:       d.db, MFAKey: derivedKey(cfg.SessionKey, "loandesk mfa secrets"), MFARequired: cfg.MFARequired,
		Refused: func(limit string) { d.metrics.LoginRefused.WithLabelValues(limit).Inc() },
		Log:     d.db, PseudonymKey: derivedKey(cfg.SessionKey, "loandesk security log"),
		FailuresLogged: domain.DefaultFailuresLogged, Unlogged: d.metrics.Unlogged.Inc,
	}
	// Every limit's series exists from the start, at 0, so an alert on its
	// rate sees the first refusal.
	for _, l := range []string{domain.LimitAddress, domain.LimitAccountAddress, domain.LimitAccount, domain.LimitDevice, domain.LimitPassword, domain.LimitMFA} {
		d.metrics.LoginRefused.WithLabelValues(l)
	}
	go cfg.TrustedProxies.Watch(ctx, 5*time.Second, d.log)
	go worker.WatchQueue(ctx, d.db, d.metrics, d.log, worker.Defaults.DepthEvery)
	// On a first deploy the api may start before `loandesk migrate` ran.
	var created bool
	if err := lifecycle.WaitFor(ctx, d.log, "the database schema (loandesk migrate)", func(ctx context.Context) (err error) {
		created, err = auth.Bootstrap(ctx, cfg.AdminEmail, cfg.AdminPassword)
		return err
	}); err != nil {
		return fmt.Errorf("creating the bootstrap admin (has `loandesk migrate` run?): %w", err)
	}
	// Not the email: no personal data in logs, admins' included.
	d.log.Info("bootstrap admin", "created", created, "env", cfg.Env)
	api := httpapi.NewServer(httpapi.Config{
		Desk: d.desk, Auth: auth, Audit: domain.AuditLog{Store: d.db}, Limiter: limiter, Metrics: d.metrics, Log: d.log, Spec: api.OpenAPI,
		// Ready to serve filings: PostgreSQL answers. Valkey's absence costs
		// admin logins only (a 503 each), not readiness.
		Ready: func(ctx context.Context) error {
			if err := d.db.Ping(ctx); err != nil {
				return fmt.Errorf("postgres: %w", err)
			}
			return nil
		},
		SessionTTL: cfg.SessionTTL, CookieSecure: cfg.CookieSecure,
		Client:     clientaddr.Resolver{Header: cfg.ClientIPHeader, Trusted: cfg.TrustedProxies},
		SubmitRate: domain.PerMinute(cfg.SubmitLimit),
		// Twice the minute's reads at once: paging quickly through a search.
		AdminReadRate: domain.Rate{Events: cfg.AdminReads, Per: time.Minute, Burst: 2 * cfg.AdminReads}, MaxInFlight: cfg.MaxInFlight, MaxInFlightPerClient: cfg.MaxInFlightPerClient,
	})
	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("LISTEN_ADDR=%q: %w", cfg.ListenAddr, err)
	}
	if cfg.SLINamespace != "" {
		// At info whatever LOG_LEVEL says: these lines are metrics. Not
		// ended by the signal but when serve returns, so the last line,
		// written after the drain, counts the requests drained. Read from
		// a registry of their metrics alone: no other collector's failure
		// can stop them.
		sli := prometheus.NewRegistry()
		sli.MustRegister(d.metrics.HTTPRequests, d.metrics.HTTPDuration, d.metrics.QueueAge)
		rctx, stop := context.WithCancel(context.WithoutCancel(ctx))
		done := make(chan struct{})
		go func() {
			defer close(done)
			slo.Report(rctx, sli, obs.NewLogger(stdout, "info", "api"), cfg.SLINamespace, time.Minute)
		}()
		defer func() { stop(); <-done }()
	}
	return lifecycle.Serve(ctx, d.log, lifecycle.NewServer(api, d.log), ln, api.Drain, cfg.DrainDelay, cfg.ShutdownTimeout)
}

func work(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	d, err := open(ctx, getenv, stdout, "worker", need{db: true, providers: true})
	if err != nil {
		return err
	}
	defer d.close()
	w := &worker.Worker{
		Desk: d.desk, Queue: d.db, Log: d.log, Metrics: d.metrics,
		Config: worker.Config{Concurrency: d.cfg.WorkerConcurrency, RetryBase: d.cfg.RetryBase, RetryMax: d.cfg.RetryMax,
			Retention: time.Duration(d.cfg.RetentionDays) * 24 * time.Hour, SecurityLogDays: d.cfg.SecurityLogDays},
	}
	// A small HTTP server for the healthcheck and Prometheus.
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(rw http.ResponseWriter, _ *http.Request) {
		rw.Header().Set("Content-Type", "application/json")
		if !w.Healthy() {
			rw.WriteHeader(http.StatusServiceUnavailable)
			_, _ = rw.Write([]byte(`{"status":"stalled","detail":"cannot read the queue in PostgreSQL"}` + "\n"))
			return
		}
		_, _ = rw.Write([]byte(`{"status":"ok"}` + "\n"))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(d.metrics.Registry, promhttp.HandlerOpts{EnableOpenMetrics: true}))
	ln, err := net.Listen("tcp", d.cfg.WorkerAddr)
	if err != nil {
		return fmt.Errorf("WORKER_LISTEN_ADDR=%q: %w", d.cfg.WorkerAddr, err)
	}
	// Either half stopping stops the other.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 2)
	go func() {
		errc <- lifecycle.Serve(ctx, d.log, lifecycle.NewServer(mux, d.log), ln, nil, 0, 3*time.Second)
	}()
	go func() { errc <- w.Run(ctx) }()
	err = <-errc
	cancel()
	if err2 := <-errc; err == nil {
		err = err2
	}
	return err
}

// nginxExporter serves web's stub_status pages (every task's, read at each
// scrape) as Prometheus metrics: NGINX_STATUS_URL names them by a host that
// resolves to every task (tasks.web on Swarm, web under compose).
func nginxExporter(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	raw := getenv("NGINX_STATUS_URL")
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.Hostname() == "" || u.Port() == "" {
		return fmt.Errorf("NGINX_STATUS_URL=%q: want http://HOST:PORT/PATH, HOST resolving to every web task", raw)
	}
	addr := cmp.Or(getenv("EXPORTER_LISTEN_ADDR"), ":9113")
	log := obs.NewLogger(stdout, "info", "nginx-exporter")
	reg := prometheus.NewRegistry()
	reg.MustRegister(&nginxstatus.Collector{URL: u, Client: &http.Client{Timeout: 2 * time.Second}, Timeout: 3 * time.Second, MaxTargets: 64})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(rw http.ResponseWriter, _ *http.Request) { _, _ = rw.Write([]byte(`{"status":"ok"}` + "\n")) })
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{EnableOpenMetrics: true}))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("EXPORTER_LISTEN_ADDR=%q: %w", addr, err)
	}
	log.InfoContext(ctx, "exporting nginx's status", "url", u.Redacted(), "addr", ln.Addr().String())
	return lifecycle.Serve(ctx, log, lifecycle.NewServer(mux, log), ln, nil, 0, 3*time.Second)
}

// derivedKey derives a key for one use from SESSION_KEY, so that one
// secret serves the sessions, the device cookies, the security log's
// pseudonyms and the sealing of TOTP secrets (rotating it means every
// admin's `loandesk admin reset-mfa`), and no value made for one passes for another's.
func derivedKey(sessionKey, use string) []byte {
	m := hmac.New(sha256.New, []byte(sessionKey))
	m.Write([]byte(use))
	return m.Sum(nil)
}
