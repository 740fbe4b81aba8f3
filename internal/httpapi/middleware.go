package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/loandesk/loandesk/internal/clientaddr"
	"github.com/loandesk/loandesk/internal/domain"
	"github.com/loandesk/loandesk/internal/obs"
)

// requestID takes a valid X-Request-Id from the caller (our proxy sets one)
// or makes one, puts it in the context and echoes it.
func requestID(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !obs.ValidRequestID(id) {
			id = obs.NewRequestID()
		}
		w.Header().Set("X-Request-Id", id)
		h.ServeHTTP(w, r.WithContext(obs.WithRequestID(r.Context(), id)))
	})
}

func recoverPanics(h http.Handler, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				writeError(w, r, log, fmt.Errorf("panic: %v", v))
			}
		}()
		h.ServeHTTP(w, r)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// observe logs each request and records its metrics by route pattern (never
// by raw path, which would make one series per tracking code) and by
// obs.Method: every label comes from a closed set, and a log line holds no
// text of the client's but the route it matched.
//
// A request answered before the mux (shed: the process at its maximum in
// flight) is counted under the route it was sent to, by mux's match: a
// filing refused so is a failed filing, which the filing SLO must see.
func observe(h http.Handler, m *obs.Metrics, log *slog.Logger, mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		h.ServeHTTP(rec, r)
		route := r.Pattern
		if route == "" && mux != nil {
			_, route = mux.Handler(r)
		}
		if route == "" {
			route = "unmatched"
		}
		d := time.Since(start)
		method := obs.Method(r.Method)
		trace.SpanFromContext(r.Context()).SetName(route)
		m.HTTPRequests.WithLabelValues(route, method, strconv.Itoa(rec.status)).Inc()
		obs.ObserveDuration(r.Context(), m.HTTPDuration.WithLabelValues(route, method), d.Seconds())
		if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" || r.URL.Path == "/metrics" {
			return
		}
		log.InfoContext(r.Context(), "request", "method", method, "route", route, "status", rec.status,
			"duration_ms", float64(d.Microseconds())/1000)
	})
}

// problemFallback answers unknown routes and wrong methods as problem+json,
// like every other error.
func problemFallback(mux *http.ServeMux, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		probe := &headerOnly{header: http.Header{}}
		mux.ServeHTTP(probe, r)
		if allow := probe.header.Get("Allow"); allow != "" {
			w.Header().Set("Allow", allow)
		}
		status := probe.status
		if status == 0 {
			status = http.StatusNotFound
		}
		writeProblem(w, Problem{Type: "about:blank", Title: http.StatusText(status), Status: status,
			Code: domain.ENOTFOUND, Instance: r.URL.Path, RequestID: obs.RequestID(r.Context()),
			Detail: map[bool]string{true: "this method is not allowed here", false: "no such route"}[status == http.StatusMethodNotAllowed]})
	})
}

// headerOnly captures what the mux would answer for an unmatched request.
type headerOnly struct {
	header http.Header
	status int
}

func (h *headerOnly) Header() http.Header         { return h.header }
func (h *headerOnly) Write(b []byte) (int, error) { return len(b), nil }
func (h *headerOnly) WriteHeader(code int)        { h.status = code }

const sessionCookie = "loandesk_session"

type sessionKey struct{}

func sessionFrom(ctx context.Context) domain.Session {
	s, _ := ctx.Value(sessionKey{}).(domain.Session)
	return s
}

// requireAdmin lets a request through only with a valid session cookie, and,
// for state-changing methods, the session's CSRF token in X-CSRF-Token.
func requireAdmin(auth Auth, log *slog.Logger) func(http.Handler) http.Handler {
	return requireSession(auth, log, false)
}

// requireSession is requireAdmin that lets a session still at its login's
// second step (domain.MFAVerify, MFAEnrol) through too, when step is true:
// for the routes that step needs and nothing else.
func requireSession(auth Auth, log *slog.Logger, step bool) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var token string
			if c, err := r.Cookie(sessionCookie); err == nil {
				token = c.Value
			}
			s, err := auth.Authenticate(r.Context(), token)
			if err != nil {
				writeError(w, r, log, err)
				return
			}
			if s.MFA != "" && !step {
				writeError(w, r, log, domain.Errorf(domain.EUNAUTHORIZED, "finish logging in: give the code from your authentication app"))
				return
			}
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				if err := domain.CheckCSRF(s, r.Header.Get("X-CSRF-Token")); err != nil {
					writeError(w, r, log, err)
					return
				}
			}
			h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, s)))
		})
	}
}

// perAdmin refuses an admin's request with 429 once their account has
// spent rate (inside requireAdmin: the session names the account).
func perAdmin(l Limiter, name string, rate domain.Rate, log *slog.Logger) func(http.Handler) http.Handler {
	return limited(l, rate, log, "too many reads of applicants' data from this account; wait a moment", func(r *http.Request) string {
		return name + ":" + strconv.FormatInt(sessionFrom(r.Context()).AdminID, 10)
	})
}

// limit refuses a request with 429 once its client has spent rate, before
// any work is done.
func limit(l Limiter, name string, rate domain.Rate, client clientaddr.Resolver, log *slog.Logger) func(http.Handler) http.Handler {
	return limited(l, rate, log, "too many requests from your address; try again later", func(r *http.Request) string {
		return name + ":" + client.Key(r)
	})
}

// limited spends one event of key(r)'s budget at rate per request, and
// answers 429 (message, Retry-After) when it is spent. The limiter never
// fails open (see internal/limiter): an error here means the caller is gone.
func limited(l Limiter, rate domain.Rate, log *slog.Logger, message string, key func(*http.Request) string) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		if rate.Off() {
			return h
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ok, wait, err := l.Allow(r.Context(), key(r), rate)
			if err != nil {
				writeError(w, r, log, err)
				return
			}
			if !ok {
				writeError(w, r, log, &domain.Error{Code: domain.ERATELIMITED, Message: message, RetryAfter: domain.RetryAfterSeconds(wait)})
				return
			}
			h.ServeHTTP(w, r)
		})
	}
}

// shed answers 503 at once when the process already serves max requests,
// and 429 when one client already has perClient of them: memory and
// goroutines per process stay bounded whatever arrives, a load balancer
// sends the retry elsewhere, and no one client (on AWS, with no nginx in
// front) takes every slot. Health and metrics are exempt, so an overloaded
// replica is not taken for a dead one.
func shed(h http.Handler, max, perClient int, client clientaddr.Resolver, m *obs.Metrics, log *slog.Logger) http.Handler {
	if max <= 0 {
		return h
	}
	slots := make(chan struct{}, max)
	var mu sync.Mutex
	// Only clients with a request in flight have an entry: at most max.
	held := map[string]int{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz", "/readyz", "/metrics":
			h.ServeHTTP(w, r)
			return
		}
		select {
		case slots <- struct{}{}:
			defer func() { <-slots }()
		default:
			m.Shed.Inc()
			writeError(w, r, log, &domain.Error{Code: domain.EUNAVAILABLE, Message: "the server is busy; retry in a second", RetryAfter: 1})
			return
		}
		key := client.Key(r)
		mu.Lock()
		mine := held[key] < perClient || perClient <= 0
		if mine {
			held[key]++
		}
		mu.Unlock()
		if !mine {
			m.Shed.Inc()
			writeError(w, r, log, &domain.Error{Code: domain.ERATELIMITED, Message: "too many requests from your address at once; wait for the others", RetryAfter: 1})
			return
		}
		defer func() {
			mu.Lock()
			if held[key]--; held[key] <= 0 {
				delete(held, key)
			}
			mu.Unlock()
		}()
		h.ServeHTTP(w, r)
	})
}

// callerGone ends a request's context with domain.ErrCallerGone as its cause
// when the client hangs up (net/http gives none), so the adapters can tell a
// client who left from a deadline of ours: the database then lets a
// statement under way finish instead of closing its connection.
func callerGone(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithCancelCause(context.WithoutCancel(r.Context()))
		defer cancel(nil)
		stop := context.AfterFunc(r.Context(), func() { cancel(domain.ErrCallerGone) })
		defer stop()
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}
