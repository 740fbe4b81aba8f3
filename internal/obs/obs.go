// Package obs holds what every LoanDesk process shares for operability:
// JSON logs that carry the request id, and the Prometheus metrics.
package obs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.opentelemetry.io/otel/trace"
)

type ctxKey struct{}

// WithRequestID returns ctx carrying id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// RequestID returns the request id in ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(ctxKey{}).(string)
	return id
}

// NewRequestID returns 16 random hex characters.
func NewRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ValidRequestID accepts ids a client or proxy may pass in X-Request-Id.
func ValidRequestID(s string) bool {
	if len(s) < 1 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// NewLogger returns a JSON logger at the given level ("debug", "info",
// "warn", "error") that adds the request id and the trace and span ids from
// the context to each record.
func NewLogger(w io.Writer, level string, service string) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(strings.ToUpper(level)))
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lv})
	return slog.New(ctxHandler{h}).With("service", service)
}

// ParseLevel reports whether level names a slog level.
func ParseLevel(level string) bool {
	var lv slog.Level
	return lv.UnmarshalText([]byte(strings.ToUpper(level))) == nil
}

type ctxHandler struct{ slog.Handler }

func (h ctxHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	// With tracing on, every line names its trace: logs and spans meet.
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

func (h ctxHandler) WithAttrs(a []slog.Attr) slog.Handler { return ctxHandler{h.Handler.WithAttrs(a)} }
func (h ctxHandler) WithGroup(n string) slog.Handler      { return ctxHandler{h.Handler.WithGroup(n)} }

// MinLevel passes on only records at level or above (for a library's logs).
func MinLevel(h slog.Handler, level slog.Level) slog.Handler { return minLevel{h, level} }

type minLevel struct {
	slog.Handler
	level slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.level && h.Handler.Enabled(ctx, l)
}
func (h minLevel) WithAttrs(a []slog.Attr) slog.Handler {
	return minLevel{h.Handler.WithAttrs(a), h.level}
}
func (h minLevel) WithGroup(n string) slog.Handler { return minLevel{h.Handler.WithGroup(n), h.level} }

// Method names a request's method for a label or a log line: one of the
// nine methods of RFC 9110 or OTHER, so whatever a client sends as a method
// adds no series and no long line.
func Method(m string) string {
	switch m {
	case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE":
		return m
	}
	return "OTHER"
}

// Metrics are LoanDesk's Prometheus metrics, on their own registry. Every
// label takes its values from a closed set: routes from the route table,
// methods from Method, statuses from the handlers' own answers, services
// and outcomes from code.
type Metrics struct {
	Registry *prometheus.Registry

	HTTPRequests *prometheus.CounterVec   // route, method, status
	HTTPDuration *prometheus.HistogramVec // route, method
	External     *prometheus.CounterVec   // service, outcome
	ExternalTime *prometheus.HistogramVec // service
	BreakerState *prometheus.GaugeVec     // service: 0 closed, 1 half-open, 2 open
	Decisions    *prometheus.CounterVec   // source (api|worker), status
	QueueDepth   *prometheus.GaugeVec     // state: ready, waiting, running
	// QueueAge is the oldest ready job's wait (of="ready") and the oldest
	// undecided job's age since its filing (of="any"), in seconds.
	QueueAge *prometheus.GaugeVec
	// LimiterFallback counts the limit checks decided in-process because
	// the shared store (Valkey) could not answer.
	LimiterFallback prometheus.Counter
	// Shed counts requests refused because the process, or their client,
	// already had its maximum in flight.
	Shed prometheus.Counter
	// LoginRefused counts logins refused by a limit (domain.Limit*):
	// "account" is an account's cap reached by guesses from unknown devices.
	LoginRefused *prometheus.CounterVec // limit
	// Unlogged counts failed logins past the security log's bound
	// (domain.Auth.FailuresLogged): counted here, not itemized there.
	Unlogged prometheus.Counter
	// ValkeyMemory is each Valkey's used memory and its maxmemory (store:
	// sessions, limits; kind: used, max), read by the api: full, Valkey
	// refuses writes (noeviction), and admin logins answer 503.
	ValkeyMemory *prometheus.GaugeVec
}

// NewMetrics creates and registers the metrics.
func NewMetrics() *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		Registry: r,
		HTTPRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loandesk_http_requests_total", Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "status"}),
		HTTPDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "loandesk_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "method"}),
		External: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loandesk_external_calls_total", Help: "Calls to external services by outcome (ok, error, timeout, rejected, breaker_open).",
		}, []string{"service", "outcome"}),
		ExternalTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "loandesk_external_call_duration_seconds", Help: "Latency of external service attempts.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"service"}),
		BreakerState: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "loandesk_circuit_breaker_state", Help: "Circuit breaker state per external service: 0 closed, 1 half-open, 2 open.",
		}, []string{"service"}),
		Decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loandesk_decisions_total", Help: "Automatic decisions by where they were taken and their status.",
		}, []string{"source", "status"}),
		QueueDepth: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "loandesk_queue_depth", Help: "Decision jobs not done yet, by state: ready (may run now), waiting (for a retry), running.",
		}, []string{"state"}),
		QueueAge: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "loandesk_queue_age_seconds", Help: "Age of the oldest decision job: of=ready, its wait for a worker since it could run; of=any, the oldest undecided filing's age. 0 when none.",
		}, []string{"of"}),
		LimiterFallback: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "loandesk_limiter_fallback_total", Help: "Limit checks decided in this process because Valkey could not answer (each replica then counts alone).",
		}),
		Shed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "loandesk_http_shed_total", Help: "Requests refused at once because the process (503) or their client (429) had its maximum in flight.",
		}),
		LoginRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loandesk_login_refused_total", Help: "Logins refused by a limit: address, account_address, account (its cap for unknown devices), device; password (a session's tries at its current password); mfa (tries at a login's code, set-ups begun).",
		}, []string{"limit"}),
		Unlogged: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "loandesk_security_log_unlogged_total", Help: "Failed logins not itemized in the security log because more than its bound arrived at once.",
		}),
		ValkeyMemory: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "loandesk_valkey_memory_bytes", Help: "Valkey's memory by store (sessions, limits) and kind: used, max (its maxmemory; 0 when unlimited).",
		}, []string{"store", "kind"}),
	}
	r.MustRegister(m.HTTPRequests, m.HTTPDuration, m.External, m.ExternalTime, m.BreakerState, m.Decisions,
		m.QueueDepth, m.QueueAge, m.LimiterFallback, m.Shed, m.LoginRefused, m.Unlogged, m.ValkeyMemory, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// ObserveDuration records d in h, with the request's trace id as an
// exemplar when it is traced: a slow bucket then links to a trace.
func ObserveDuration(ctx context.Context, h prometheus.Observer, seconds float64) {
	if id := TraceID(ctx); id != "" {
		if eo, ok := h.(prometheus.ExemplarObserver); ok {
			eo.ObserveWithExemplar(seconds, prometheus.Labels{"trace_id": id})
			return
		}
	}
	h.Observe(seconds)
}
