package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"

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
// by raw path, which would make one series per tracking code).
func observe(h http.Handler, m *obs.Metrics, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		h.ServeHTTP(rec, r)
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		d := time.Since(start)
		trace.SpanFromContext(r.Context()).SetName(route)
		m.HTTPRequests.WithLabelValues(route, r.Method, strconv.Itoa(rec.status)).Inc()
		obs.ObserveDuration(r.Context(), m.HTTPDuration.WithLabelValues(route, r.Method), d.Seconds())
		if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" || r.URL.Path == "/metrics" {
			return
		}
		log.InfoContext(r.Context(), "request", "method", r.Method, "route", route, "status", rec.status,
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

// clientIP is the caller's address, from the trusted proxy header if set.
// CloudFront-Viewer-Address always ends in ":port" ("203.0.113.7:46532",
// "2001:db8::1:46532", IPv6 without brackets); X-Real-IP holds an address.
func clientIP(r *http.Request, header string) netip.Addr {
	if header != "" {
		v := strings.TrimSpace(r.Header.Get(header))
		if strings.EqualFold(header, "CloudFront-Viewer-Address") {
			if i := strings.LastIndexByte(v, ':'); i > 0 {
				v = v[:i]
			}
		} else if ap, err := netip.ParseAddrPort(v); err == nil {
			v = ap.Addr().String()
		}
		if ip, err := netip.ParseAddr(strings.Trim(v, "[]")); err == nil {
			return ip.Unmap()
		}
	}
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return ap.Addr().Unmap()
	}
	ip, _ := netip.ParseAddr(r.RemoteAddr)
	return ip
}

// clientKey names the caller for rate limits: its IPv4 address, or its
// IPv6 /64 — one subscriber's network, where every address is theirs to use.
func clientKey(r *http.Request, header string) string {
	ip := clientIP(r, header)
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// limit refuses a request with 429 once its client has spent rate, before
// any work is done. If the limiter cannot answer, the request goes through:
// a Valkey outage must not stop filing.
func limit(l Limiter, name string, rate domain.Rate, ipHeader string, log *slog.Logger) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		if rate.Off() {
			return h
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ok, wait, err := l.Allow(r.Context(), name+":"+clientKey(r, ipHeader), rate)
			if err != nil {
				log.WarnContext(r.Context(), "rate limiter unavailable; letting the request through", "limit", name, "err", err)
			} else if !ok {
				writeError(w, r, log, &domain.Error{Code: domain.ERATELIMITED, Message: "too many requests from your address; try again later",
					RetryAfter: max(1, int((wait+time.Second-1)/time.Second))})
				return
			}
			h.ServeHTTP(w, r)
		})
	}
}
