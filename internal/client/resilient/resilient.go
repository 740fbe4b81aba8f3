// Package resilient is the HTTP plumbing shared by the clients of external
// services: a deadline per attempt, retries with exponential backoff and full
// jitter, a circuit breaker, request-id propagation and metrics. It maps every
// failure to a domain error code: EUNAVAILABLE (try later) or EPERMANENT (the
// provider refused the input; retrying will not help).
package resilient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sony/gobreaker/v2"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"

	"github.com/loandesk/loandesk/internal/domain"
	"github.com/loandesk/loandesk/internal/obs"
)

// Config tunes one client.
type Config struct {
	Service        string        // label in metrics and logs: "scoring", "identity"
	BaseURL        string        // e.g. http://scoring:7001
	AttemptTimeout time.Duration // one try
	Retries        int           // extra tries after the first, for retryable failures
	BackoffBase    time.Duration
	BackoffMax     time.Duration
	// The breaker opens after BreakerFailures consecutive failures, stays
	// open for BreakerOpenFor, then lets one trial call through (half-open).
	BreakerFailures uint32
	BreakerOpenFor  time.Duration
}

// Client calls one external service.
type Client struct {
	cfg     Config
	base    *url.URL
	http    *http.Client
	breaker *gobreaker.CircuitBreaker[struct{}]
	metrics *obs.Metrics
}

// New returns a client; m may be nil in tests.
func New(cfg Config, m *obs.Metrics) (*Client, error) {
	base, err := url.Parse(cfg.BaseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("base URL %q of %s must be an absolute http(s) URL", cfg.BaseURL, cfg.Service)
	}
	if m == nil {
		m = obs.NewMetrics()
	}
	// Keep as many idle connections to the provider as calls in flight:
	// Go's default of 2 closes the rest after each burst and opens them
	// again for the next (a connection per filing at 8 clients).
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	c := &Client{cfg: cfg, base: base, metrics: m,
		// No client-wide timeout: each attempt has its own deadline.
		// Each attempt is a client span; its trace context goes along.
		http: &http.Client{Transport: otelhttp.NewTransport(t)},
	}
	c.breaker = gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
		Name:    cfg.Service,
		Timeout: cfg.BreakerOpenFor,
		ReadyToTrip: func(counts gobreaker.Counts) bool {
			return counts.ConsecutiveFailures >= cfg.BreakerFailures
		},
		// A provider saying "bad input" is healthy; only failures to answer
		// count against the breaker.
		IsSuccessful: func(err error) bool { return err == nil || domain.ErrorCode(err) == domain.EPERMANENT },
		// A call our caller abandoned (the other provider already decided,
		// the applicant hung up, the decision's deadline passed) says
		// nothing about the provider: it counts neither way. Otherwise
		// applicants could open the breaker for everyone.
		IsExcluded: func(err error) bool { var g *callerGone; return errors.As(err, &g) },
		OnStateChange: func(_ string, _, to gobreaker.State) {
			m.BreakerState.WithLabelValues(cfg.Service).Set(float64(to))
		},
	})
	m.BreakerState.WithLabelValues(cfg.Service).Set(0)
	return c, nil
}

// State returns the breaker state (for tests and metrics).
func (c *Client) State() gobreaker.State { return c.breaker.State() }

// Do sends a request and decodes a 2xx JSON answer into out, retrying
// retryable failures while ctx allows. body, if not nil, is sent as JSON.
// Only idempotent calls may be sent through Do: it retries.
func (c *Client) Do(ctx context.Context, method, path string, query url.Values, body any, out any) error {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return err
		}
	}
	var last error
	for attempt := 0; attempt <= c.cfg.Retries; attempt++ {
		if attempt > 0 {
			if err := sleep(ctx, c.backoff(attempt)); err != nil {
				break
			}
		}
		_, err := c.breaker.Execute(func() (struct{}, error) {
			err := c.attempt(ctx, method, path, query, payload, out)
			if err != nil && ctx.Err() != nil {
				err = &callerGone{err}
			}
			return struct{}{}, err
		})
		switch {
		case err == nil:
			c.metrics.External.WithLabelValues(c.cfg.Service, "ok").Inc()
			return nil
		case errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests):
			c.metrics.External.WithLabelValues(c.cfg.Service, "breaker_open").Inc()
			return &domain.Error{Code: domain.EUNAVAILABLE, Message: c.cfg.Service + " is unavailable (circuit open)"}
		case domain.ErrorCode(err) == domain.EPERMANENT:
			c.metrics.External.WithLabelValues(c.cfg.Service, "rejected").Inc()
			return err
		}
		last = err
		outcome := "error"
		var gone *callerGone
		switch {
		case errors.As(err, &gone):
			outcome = "abandoned"
		case errors.Is(err, context.DeadlineExceeded):
			outcome = "timeout"
		}
		c.metrics.External.WithLabelValues(c.cfg.Service, outcome).Inc()
		if ctx.Err() != nil {
			break
		}
	}
	if last == nil {
		last = ctx.Err()
	}
	return errors.Join(&domain.Error{Code: domain.EUNAVAILABLE, Message: c.cfg.Service + " did not answer"}, last)
}

// callerGone marks a failure that happened because the caller's context
// ended, not because the provider failed.
type callerGone struct{ err error }

func (e *callerGone) Error() string { return e.err.Error() }
func (e *callerGone) Unwrap() error { return e.err }

// backoff is exponential with full jitter: uniform in [0, min(max, base·2ⁿ)).
func (c *Client) backoff(attempt int) time.Duration {
	ceiling := c.cfg.BackoffBase << (attempt - 1)
	if ceiling > c.cfg.BackoffMax || ceiling <= 0 {
		ceiling = c.cfg.BackoffMax
	}
	if ceiling <= 0 {
		return 0
	}
	return rand.N(ceiling)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (c *Client) attempt(ctx context.Context, method, path string, query url.Values, payload []byte, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.AttemptTimeout)
	defer cancel()
	u := c.base.JoinPath(path)
	if strings.HasSuffix(path, "/") && !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	u.RawQuery = query.Encode()
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if id := obs.RequestID(ctx); id != "" {
		req.Header.Set("X-Request-Id", id)
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	obs.ObserveDuration(ctx, c.metrics.ExternalTime.WithLabelValues(c.cfg.Service), time.Since(start).Seconds())
	if err != nil {
		// The query may hold personal data (the scoring API takes the DNI
		// and email in it); errors end up in logs and in the job table.
		var ue *url.Error
		if errors.As(err, &ue) {
			ue.URL = (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
		}
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode >= 500:
		return fmt.Errorf("%s answered %d", c.cfg.Service, resp.StatusCode)
	default:
		return &domain.Error{Code: domain.EPERMANENT, Message: fmt.Sprintf("%s refused the request (%d)", c.cfg.Service, resp.StatusCode)}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(out); err != nil {
		return fmt.Errorf("%s sent a malformed answer: %w", c.cfg.Service, err)
	}
	if v, ok := out.(interface{ Check() error }); ok {
		if err := v.Check(); err != nil {
			return fmt.Errorf("%s sent a malformed answer: %w", c.cfg.Service, err)
		}
	}
	return nil
}
