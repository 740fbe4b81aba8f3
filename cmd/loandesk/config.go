package main

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/loandesk/loandesk/internal/clientaddr"
	"github.com/loandesk/loandesk/internal/domain"
	"github.com/loandesk/loandesk/internal/lifecycle"
	"github.com/loandesk/loandesk/internal/obs"
	"github.com/loandesk/loandesk/internal/postgres"
	"github.com/loandesk/loandesk/internal/worker"
)

// devDefaults are the secrets compose.yaml ships for local development
// (deploy/compose/dev-secrets). They are public, so the API refuses them
// outside APP_ENV=development.
var devDefaults = map[string]bool{
	"insecure-dev-db-password":                         true,
	"insecure-dev-admin-password":                      true,
	"insecure-dev-session-key-change-me-0123456789abc": true,
}

// config is every setting, parsed once at start from the environment.
type config struct {
	Env        string
	LogLevel   string
	ListenAddr string
	WorkerAddr string

	DatabaseURL  string
	DatabaseAuth string // "password" or "iam"
	AWSRegion    string // for IAM database authentication
	AppDBRole    string // migrate: the application's role to create (optional)
	AppDBIAM     bool   // migrate: the role logs in with IAM tokens
	// DatabaseWait is how long migrate waits for a writable primary: a new
	// cluster electing its first, or a failover in progress.
	DatabaseWait time.Duration
	ValkeyURL    string
	ValkeyPass   string
	ValkeyPrefix string
	// The rate limits' own Valkey (LIMITS_VALKEY_URL; default VALKEY_URL):
	// its memory is theirs, so limiter keys never crowd out sessions.
	LimitsURL   string
	LimitsPass  string
	ScoringURL  string
	IdentityURL string

	SessionKey    string
	AdminEmail    string
	AdminPassword string
	SessionTTL    time.Duration
	// MFARequired: every admin sets up TOTP before using the desk
	// (MFA_REQUIRED; default true outside development).
	MFARequired    bool
	CookieSecure   bool
	ClientIPHeader string
	// SLINamespace: where the api reports its service-level indicators
	// to CloudWatch, as EMF lines once a minute (SLI_EMF_NAMESPACE; on AWS
	// only, empty: none).
	SLINamespace   string
	TrustedProxies *clientaddr.Proxies
	SubmitLimit    int
	// AdminReads: each admin's reads of applicants' data per minute (each
	// one a row of the security log).
	AdminReads  int
	MaxInFlight int
	// MaxInFlightPerClient bounds one client's share of MaxInFlight.
	MaxInFlightPerClient int

	DecisionTimeout time.Duration
	AttemptTimeout  time.Duration
	Retries         int
	BreakerFailures int
	BreakerOpenFor  time.Duration

	RetryBase, RetryMax time.Duration
	WorkerConcurrency   int
	// RetentionDays: how long a request keeps its applicant's personal data
	// after its decision (docs/privacy.md).
	RetentionDays int
	// SecurityLogDays: how long the security log keeps an event (at least
	// 365; the database refuses less).
	SecurityLogDays int

	DrainDelay      time.Duration
	ShutdownTimeout time.Duration
}

// need says which groups of settings a subcommand requires.
type need struct{ db, valkey, providers, admin bool }

// env reads variables and collects every problem, each naming its variable.
type env struct {
	getenv func(string) string
	errs   []error
}

func (e *env) fail(name, format string, args ...any) {
	e.errs = append(e.errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
}

func (e *env) str(name, def string) string {
	if v := e.getenv(name); v != "" {
		return v
	}
	return def
}

func (e *env) required(name string) string {
	v := e.getenv(name)
	if v == "" {
		e.fail(name, "is required")
	}
	return v
}

// secret reads NAME, or the file named by NAME_FILE (compose and Swarm
// secrets, ECS secrets injection).
func (e *env) secret(name string, required bool) string {
	v, file := e.getenv(name), e.getenv(name+"_FILE")
	if v != "" && file != "" {
		e.fail(name, "set either %s or %s_FILE, not both", name, name)
		return ""
	}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			e.fail(name+"_FILE", "cannot read %s: %v", file, err)
			return ""
		}
		v = strings.TrimRight(string(b), "\r\n")
	}
	if v == "" && required {
		e.fail(name, "is required (or %s_FILE)", name)
	}
	return v
}

func (e *env) duration(name string, def time.Duration) time.Duration {
	v := e.getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		e.fail(name, "%q is not a positive duration such as 500ms or 2s", v)
	}
	return d
}

func (e *env) integer(name string, def, min, max int) int {
	v := e.getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < min || n > max {
		e.fail(name, "%q is not a whole number from %d to %d", v, min, max)
	}
	return n
}

func (e *env) boolean(name string, def bool) bool {
	v := e.getenv(name)
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		e.fail(name, "%q is not true or false", v)
	}
	return b
}

func (e *env) httpURL(name string, required bool) string {
	v := e.getenv(name)
	if v == "" {
		if required {
			e.fail(name, "is required")
		}
		return ""
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		e.fail(name, "%q is not an http(s) URL", v)
	}
	return v
}

// valkeyURL reads a redis:// or rediss:// URL; def when unset ("" makes
// it required).
func (e *env) valkeyURL(name, def string) string {
	v := e.getenv(name)
	if v == "" {
		if def == "" {
			e.fail(name, "is required")
		}
		return def
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
		e.fail(name, "%q is not a redis:// or rediss:// URL", v)
	}
	return v
}

func loadConfig(getenv func(string) string, n need) (config, error) {
	e := &env{getenv: getenv}
	c := config{
		Env:                  e.str("APP_ENV", "production"),
		LogLevel:             e.str("LOG_LEVEL", "info"),
		ListenAddr:           e.str("LISTEN_ADDR", ":8000"),
		WorkerAddr:           e.str("WORKER_LISTEN_ADDR", ":8001"),
		SessionTTL:           e.duration("SESSION_TTL", 8*time.Hour),
		ClientIPHeader:       e.str("CLIENT_IP_HEADER", ""),
		SLINamespace:         e.str("SLI_EMF_NAMESPACE", ""),
		SubmitLimit:          e.integer("SUBMIT_RATE_LIMIT", 30, 0, 100000),
		AdminReads:           e.integer("ADMIN_READS_PER_MINUTE", 30, 1, 100000),
		MaxInFlight:          e.integer("MAX_IN_FLIGHT", 128, 1, 100000),
		MaxInFlightPerClient: e.integer("MAX_IN_FLIGHT_PER_CLIENT", 16, 1, 100000),
		DecisionTimeout:      e.duration("DECISION_TIMEOUT", 3*time.Second),
		AttemptTimeout:       e.duration("EXTERNAL_ATTEMPT_TIMEOUT", time.Second),
		Retries:              e.integer("EXTERNAL_RETRIES", 2, 0, 10),
		BreakerFailures:      e.integer("BREAKER_FAILURES", 5, 1, 1000),
		BreakerOpenFor:       e.duration("BREAKER_OPEN_FOR", 10*time.Second),
		RetryBase:            e.duration("WORKER_RETRY_BASE", worker.Defaults.RetryBase),
		RetryMax:             e.duration("WORKER_RETRY_MAX", worker.Defaults.RetryMax),
		WorkerConcurrency:    e.integer("WORKER_CONCURRENCY", worker.Defaults.Concurrency, 1, 1000),
		RetentionDays:        e.integer("RETENTION_DAYS", int(worker.Defaults.Retention/(24*time.Hour)), 1, 36500),
		SecurityLogDays:      e.integer("SECURITY_LOG_DAYS", worker.Defaults.SecurityLogDays, 365, 36500),
		DrainDelay:           e.duration("SHUTDOWN_DRAIN_DELAY", 2*time.Second),
		ShutdownTimeout:      e.duration("SHUTDOWN_TIMEOUT", 7*time.Second),
	}
	if c.Env != "development" && c.Env != "production" {
		e.fail("APP_ENV", "%q must be development or production", c.Env)
	}
	dev := c.Env == "development"
	c.CookieSecure = e.boolean("COOKIE_SECURE", !dev)
	c.MFARequired = e.boolean("MFA_REQUIRED", !dev)
	if !dev && !c.MFARequired {
		e.fail("MFA_REQUIRED", "must be true outside APP_ENV=development: the desk shows applicants' personal data")
	}
	if !obs.ParseLevel(c.LogLevel) {
		e.fail("LOG_LEVEL", "%q must be debug, info, warn or error", c.LogLevel)
	}
	// A filing may wait for a moving primary to claim its key
	// (postgres.PrimaryWait), DECISION_TIMEOUT for the providers, then save
	// (domain.SaveTimeout): all of it within the server's 15 s to answer
	// (lifecycle.NewServer), or the answer is lost on its way.
	if postgres.PrimaryWait+c.DecisionTimeout+domain.SaveTimeout+time.Second > lifecycle.WriteTimeout {
		e.fail("DECISION_TIMEOUT", "%s with the claim's %s and the save's %s must leave a second of the server's %s to answer",
			c.DecisionTimeout, postgres.PrimaryWait, domain.SaveTimeout, lifecycle.WriteTimeout)
	}
	if c.MaxInFlightPerClient > c.MaxInFlight {
		e.fail("MAX_IN_FLIGHT_PER_CLIENT", "%d is more than MAX_IN_FLIGHT (%d)", c.MaxInFlightPerClient, c.MaxInFlight)
	}
	if c.DrainDelay+c.ShutdownTimeout > 10*time.Second {
		e.fail("SHUTDOWN_TIMEOUT", "with SHUTDOWN_DRAIN_DELAY must stay within the 10 s stop grace period")
	}
	if n.db {
		c.DatabaseURL = e.required("DATABASE_URL")
		c.DatabaseAuth = e.str("DATABASE_AUTH", "password")
		c.AppDBRole = e.str("APP_DB_ROLE", "")
		c.AppDBIAM = e.boolean("APP_DB_IAM", false)
		c.DatabaseWait = e.duration("DATABASE_WAIT", 2*time.Minute)
		switch c.DatabaseAuth {
		case "password":
		case "iam":
			if c.AWSRegion = e.str("AWS_REGION", ""); c.AWSRegion == "" {
				e.fail("AWS_REGION", "is required with DATABASE_AUTH=iam")
			}
			if e.getenv("DATABASE_PASSWORD") != "" || e.getenv("DATABASE_PASSWORD_FILE") != "" {
				e.fail("DATABASE_PASSWORD", "must not be set with DATABASE_AUTH=iam (the password is an IAM token)")
			}
		default:
			e.fail("DATABASE_AUTH", "%q must be password or iam", c.DatabaseAuth)
		}
		if pw := e.secret("DATABASE_PASSWORD", false); c.DatabaseURL != "" && c.DatabaseAuth == "password" {
			u, err := url.Parse(c.DatabaseURL)
			if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
				e.fail("DATABASE_URL", "is not a postgres:// URL")
			} else {
				if pw != "" {
					u.User = url.UserPassword(u.User.Username(), pw)
					c.DatabaseURL = u.String()
				}
				dbpw, _ := u.User.Password()
				if !dev && (dbpw == "" || devDefaults[dbpw]) {
					e.fail("DATABASE_PASSWORD", "is empty or a development default; outside APP_ENV=development set a real secret")
				}
			}
		}
	}
	if n.valkey {
		c.ValkeyURL = e.valkeyURL("VALKEY_URL", "")
		c.ValkeyPass = e.secret("VALKEY_PASSWORD", false)
		c.ValkeyPrefix = e.str("VALKEY_PREFIX", "loandesk:")
		c.LimitsURL = e.valkeyURL("LIMITS_VALKEY_URL", c.ValkeyURL)
		c.LimitsPass = e.secret("LIMITS_VALKEY_PASSWORD", false)
		if e.getenv("LIMITS_VALKEY_URL") == "" && c.LimitsPass == "" {
			c.LimitsPass = c.ValkeyPass
		}
	}
	if ns := c.SLINamespace; ns != "" && (len(ns) > 255 || strings.HasPrefix(ns, "AWS/") || !cloudWatchNamespace.MatchString(ns)) {
		e.fail("SLI_EMF_NAMESPACE", "%q is not a CloudWatch namespace of ours: 1 to 255 letters, digits and . - _ / # : or spaces, not starting AWS/", ns)
	}
	proxies, err := clientaddr.ParseProxies(e.getenv("TRUSTED_PROXIES"))
	switch {
	case err != nil:
		e.fail("TRUSTED_PROXIES", "%v", err)
	case c.ClientIPHeader != "" && proxies.Empty():
		e.fail("TRUSTED_PROXIES", "is required with CLIENT_IP_HEADER: name the proxies (CIDRs, addresses or host names) whose %s header is believed", c.ClientIPHeader)
	case c.ClientIPHeader == "" && !proxies.Empty():
		e.fail("CLIENT_IP_HEADER", "is required with TRUSTED_PROXIES: name the header those proxies set")
	}
	c.TrustedProxies = proxies
	if n.providers {
		c.ScoringURL = e.httpURL("SCORING_URL", true)
		c.IdentityURL = e.httpURL("IDENTITY_URL", true)
	}
	if n.admin {
		c.SessionKey = e.secret("SESSION_KEY", true)
		c.AdminEmail = strings.ToLower(e.required("ADMIN_EMAIL"))
		c.AdminPassword = e.secret("ADMIN_PASSWORD", true)
		if !dev {
			if c.SessionKey != "" && (len(c.SessionKey) < 32 || devDefaults[c.SessionKey]) {
				e.fail("SESSION_KEY", "must be at least 32 characters and not a development default outside APP_ENV=development")
			}
			if c.AdminPassword != "" && (len(c.AdminPassword) < 12 || devDefaults[c.AdminPassword]) {
				e.fail("ADMIN_PASSWORD", "must be at least 12 characters and not a development default outside APP_ENV=development")
			}
		}
	}
	if len(e.errs) > 0 {
		return c, fmt.Errorf("configuration: %w", errors.Join(e.errs...))
	}
	return c, nil
}

// cloudWatchNamespace is the characters CloudWatch allows in a namespace.
var cloudWatchNamespace = regexp.MustCompile(`^[A-Za-z0-9.\-_/#: ]+$`)
