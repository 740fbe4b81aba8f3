// Package httpapi is LoanDesk's HTTP API: the public endpoints applicants
// use, the admin endpoints, health, readiness and metrics. The contract is
// api/openapi.yaml; every route is listed in routes.go.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/propagation"

	"github.com/loandesk/loandesk/internal/clientaddr"
	"github.com/loandesk/loandesk/internal/domain"
	"github.com/loandesk/loandesk/internal/obs"
)

// Desk is what the API needs of the loan desk (implemented by *domain.Desk).
type Desk interface {
	Submit(ctx context.Context, key string, a domain.Application) (domain.Submitted, error)
	Track(ctx context.Context, code string) (domain.Receipt, error)
	List(ctx context.Context, actor domain.Actor, q domain.ListQuery) (domain.Page, error)
	Detail(ctx context.Context, actor domain.Actor, id int64) (*domain.LoanRequest, []domain.AuditEvent, error)
	ChangeStatus(ctx context.Context, actor domain.Actor, id int64, s domain.Status, comment string) (*domain.LoanRequest, error)
	DeleteRequest(ctx context.Context, actor domain.Actor, id int64, comment string) (*domain.LoanRequest, error)
	RestoreRequest(ctx context.Context, actor domain.Actor, id int64, comment string) (*domain.LoanRequest, error)
	EraseApplicant(ctx context.Context, actor domain.Actor, id int64, documentNumber string) (domain.Erased, error)
	Stats(ctx context.Context) (domain.Stats, error)
	Activity(ctx context.Context) (domain.Activity, error)
}

// Auth is what the API needs for admin sessions (implemented by *domain.Auth).
type Auth interface {
	Login(ctx context.Context, in domain.LoginAttempt) (domain.LoggedIn, error)
	Authenticate(ctx context.Context, token string) (domain.Session, error)
	Logout(ctx context.Context, token string) error
	ChangePassword(ctx context.Context, in domain.PasswordChange) (domain.LoggedIn, error)
	StartEnrolment(ctx context.Context, s domain.Session) (domain.Enrolment, error)
	ConfirmEnrolment(ctx context.Context, token string, s domain.Session, code, client string) (domain.MFADone, error)
	VerifyMFA(ctx context.Context, token string, s domain.Session, code, client string) (domain.MFADone, error)
}

// Audit pages through the security log (implemented by domain.AuditLog).
type Audit interface {
	Page(ctx context.Context, q domain.AuditQuery) (domain.AuditPage, error)
}

// Limiter spends per-client budgets (implemented by the Valkey adapter).
type Limiter interface {
	Allow(ctx context.Context, key string, r domain.Rate) (allowed bool, retryAfter time.Duration, err error)
}

// Config is everything NewServer needs.
type Config struct {
	Desk    Desk
	Auth    Auth
	Audit   Audit
	Limiter Limiter
	// Ready reports whether what filings need answers (PostgreSQL).
	Ready   func(ctx context.Context) error
	Metrics *obs.Metrics
	Log     *slog.Logger
	Spec    []byte // api/openapi.yaml, served at /api/openapi.yaml

	SessionTTL   time.Duration
	CookieSecure bool
	// Client reads the caller's address for the limits: from a header only
	// when the connection comes from a trusted proxy (clientaddr).
	Client clientaddr.Resolver
	// SubmitRate limits filings per client address (IPv6: per /64).
	SubmitRate domain.Rate
	// AdminReadRate limits each admin's reads of applicants' data (a page
	// of the list, a request): each is a row of the security log, so the
	// log grows at most this fast per admin, whatever a session does.
	AdminReadRate domain.Rate
	// MaxInFlight bounds the requests served at once (0: unbounded); past
	// it a request gets 503 at once. MaxInFlightPerClient bounds one
	// client's share (0: none); past it, 429.
	MaxInFlight, MaxInFlightPerClient int
}

// Server is the API handler plus its drain switch.
type Server struct {
	http.Handler
	draining atomic.Bool
}

// Drain makes /readyz fail so load balancers stop sending new requests.
func (s *Server) Drain() { s.draining.Store(true) }

// NewServer returns the API's handler with all routes and middleware.
func NewServer(cfg Config) *Server {
	s := &Server{}
	mux := http.NewServeMux()
	for _, r := range routes(cfg, &s.draining) {
		mux.Handle(r.Method+" "+r.Path, r.Handler)
	}
	var h http.Handler = problemFallback(mux, cfg.Log)
	h = shed(h, cfg.MaxInFlight, cfg.MaxInFlightPerClient, cfg.Client, cfg.Metrics, cfg.Log)
	h = observe(h, cfg.Metrics, cfg.Log, mux)
	h = callerGone(h)
	h = recoverPanics(h, cfg.Log)
	h = requestID(h)
	// Outermost: a span per request; observe names it by route once the
	// mux has matched. Every request starts its own trace: a traceparent or
	// baggage from the internet is not ours to continue, nor to pass on to
	// the providers.
	h = otelhttp.NewHandler(h, "api", otelhttp.WithPropagators(propagation.NewCompositeTextMapPropagator()))
	s.Handler = h
	return s
}
