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

	"github.com/loandesk/loandesk/internal/domain"
	"github.com/loandesk/loandesk/internal/obs"
)

// Desk is what the API needs of the loan desk (implemented by *domain.Desk).
type Desk interface {
	Submit(ctx context.Context, key string, a domain.Application) (domain.Submitted, error)
	Track(ctx context.Context, code string) (domain.Receipt, error)
	List(ctx context.Context, f domain.Filter) (domain.Page, error)
	Detail(ctx context.Context, id int64) (*domain.LoanRequest, []domain.AuditEvent, error)
	ChangeStatus(ctx context.Context, actor domain.Actor, id int64, s domain.Status, comment string) (*domain.LoanRequest, error)
	DeleteRequest(ctx context.Context, actor domain.Actor, id int64, comment string) (*domain.LoanRequest, error)
	RestoreRequest(ctx context.Context, actor domain.Actor, id int64, comment string) (*domain.LoanRequest, error)
	Stats(ctx context.Context) (domain.Stats, error)
	Activity(ctx context.Context) (domain.Activity, error)
}

// Auth is what the API needs for admin sessions (implemented by *domain.Auth).
type Auth interface {
	Login(ctx context.Context, email, password, ip string) (string, domain.Session, error)
	Authenticate(ctx context.Context, token string) (domain.Session, error)
	Logout(ctx context.Context, token string) error
}

// Limiter spends per-client budgets (implemented by the Valkey adapter).
type Limiter interface {
	Allow(ctx context.Context, key string, r domain.Rate) (allowed bool, retryAfter time.Duration, err error)
}

// Config is everything NewServer needs.
type Config struct {
	Desk    Desk
	Auth    Auth
	Limiter Limiter
	// Ready reports whether the dependencies answer (PostgreSQL, Valkey).
	Ready   func(ctx context.Context) error
	Metrics *obs.Metrics
	Log     *slog.Logger
	Spec    []byte // api/openapi.yaml, served at /api/openapi.yaml

	SessionTTL   time.Duration
	CookieSecure bool
	// ClientIPHeader names a header set by the proxy in front (X-Real-IP
	// from our nginx, CloudFront-Viewer-Address on AWS) that holds the
	// client's address; empty uses the connection's address. Only set it
	// when every request comes through that proxy.
	ClientIPHeader string
	// SubmitRate limits filings per client address (IPv6: per /64).
	SubmitRate domain.Rate
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
	h = observe(h, cfg.Metrics, cfg.Log)
	h = recoverPanics(h, cfg.Log)
	h = requestID(h)
	// Outermost: a span per request (continuing the caller's trace, if it
	// sent one); observe names it by route once the mux has matched.
	h = otelhttp.NewHandler(h, "api")
	s.Handler = h
	return s
}
