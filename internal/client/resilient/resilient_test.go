package resilient_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	neturl "net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/loandesk/loandesk/internal/client/resilient"
	"github.com/loandesk/loandesk/internal/domain"
	"github.com/loandesk/loandesk/internal/obs"
)

type answer struct {
	OK *bool `json:"ok"`
}

func (a *answer) Check() error {
	if a.OK == nil {
		return errMissing
	}
	return nil
}

var errMissing = &domain.Error{Code: domain.EINVALID, Message: `"ok" is required`}

// server answers with the handlers in turn (the last one repeats) and counts calls.
func server(t *testing.T, handlers ...http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		handlers[min(i, len(handlers)-1)](w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func status(code int) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) }
}

func body(s string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(s)) }
}

func sleep(d time.Duration) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
		}
		_, _ = w.Write([]byte(`{"ok":true}`))
	}
}

func newClient(t *testing.T, url string, mod func(*resilient.Config)) *resilient.Client {
	t.Helper()
	cfg := resilient.Config{Service: "test", BaseURL: url, AttemptTimeout: 200 * time.Millisecond, Retries: 2,
		BackoffBase: time.Millisecond, BackoffMax: 5 * time.Millisecond, BreakerFailures: 100, BreakerOpenFor: time.Minute}
	if mod != nil {
		mod(&cfg)
	}
	c, err := resilient.New(cfg, obs.NewMetrics())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func call(c *resilient.Client) error {
	var a answer
	return c.Do(context.Background(), http.MethodGet, "/x", nil, nil, &a)
}

func TestRetriesServerErrorsThenSucceeds(t *testing.T) {
	srv, n := server(t, status(503), status(500), body(`{"ok":true}`))
	if err := call(newClient(t, srv.URL, nil)); err != nil {
		t.Fatalf("Do() = %v, want success on the third try", err)
	}
	if n.Load() != 3 {
		t.Fatalf("calls = %d, want 3", n.Load())
	}
}

func TestGivesUpAfterRetriesAsUnavailable(t *testing.T) {
	srv, n := server(t, status(502))
	err := call(newClient(t, srv.URL, nil))
	if domain.ErrorCode(err) != domain.EUNAVAILABLE {
		t.Fatalf("Do() = %v, want EUNAVAILABLE", err)
	}
	if n.Load() != 3 {
		t.Fatalf("calls = %d, want 1 + 2 retries", n.Load())
	}
}

func TestAttemptTimeout(t *testing.T) {
	srv, n := server(t, sleep(2*time.Second))
	start := time.Now()
	err := call(newClient(t, srv.URL, func(c *resilient.Config) { c.AttemptTimeout = 50 * time.Millisecond; c.Retries = 1 }))
	if domain.ErrorCode(err) != domain.EUNAVAILABLE {
		t.Fatalf("Do() = %v, want EUNAVAILABLE", err)
	}
	if n.Load() != 2 {
		t.Fatalf("calls = %d, want 2 (each cut at its deadline)", n.Load())
	}
	if time.Since(start) > 1500*time.Millisecond {
		t.Fatal("the attempt deadline was not applied")
	}
}

func TestCallerDeadlineStopsRetries(t *testing.T) {
	srv, _ := server(t, sleep(time.Second))
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Millisecond)
	defer cancel()
	c := newClient(t, srv.URL, func(c *resilient.Config) { c.Retries = 10 })
	var a answer
	err := c.Do(ctx, http.MethodGet, "/x", nil, nil, &a)
	if domain.ErrorCode(err) != domain.EUNAVAILABLE {
		t.Fatalf("Do() = %v, want EUNAVAILABLE", err)
	}
}

func TestClientErrorsArePermanentAndNotRetried(t *testing.T) {
	srv, n := server(t, status(400))
	c := newClient(t, srv.URL, func(c *resilient.Config) { c.BreakerFailures = 1 })
	for range 3 {
		if err := call(c); domain.ErrorCode(err) != domain.EPERMANENT {
			t.Fatalf("Do() = %v, want EPERMANENT", err)
		}
	}
	if n.Load() != 3 {
		t.Fatalf("calls = %d, want one per Do (no retries)", n.Load())
	}
	if c.State() != gobreaker.StateClosed {
		t.Fatal("a refusal opened the breaker; only failures to answer should")
	}
}

func TestMalformedAnswersAreRetriedAndReported(t *testing.T) {
	for name, h := range map[string]http.HandlerFunc{
		"not JSON":      body(`<html>oops</html>`),
		"missing field": body(`{"other":1}`),
		"wrong type":    body(`{"ok":"yes"}`),
		"empty":         body(``),
	} {
		t.Run(name, func(t *testing.T) {
			srv, n := server(t, h)
			if err := call(newClient(t, srv.URL, nil)); domain.ErrorCode(err) != domain.EUNAVAILABLE {
				t.Fatalf("Do() = %v, want EUNAVAILABLE", err)
			}
			if n.Load() != 3 {
				t.Fatalf("calls = %d, want 3", n.Load())
			}
		})
	}
}

func TestBreakerOpensThenHalfOpensAndCloses(t *testing.T) {
	healthy := atomic.Bool{}
	srv, n := server(t, func(w http.ResponseWriter, r *http.Request) {
		if healthy.Load() {
			body(`{"ok":true}`)(w, r)
			return
		}
		status(503)(w, r)
	})
	c := newClient(t, srv.URL, func(c *resilient.Config) {
		c.Retries = 0
		c.BreakerFailures = 3
		c.BreakerOpenFor = 100 * time.Millisecond
	})
	for range 3 {
		_ = call(c)
	}
	if c.State() != gobreaker.StateOpen {
		t.Fatalf("state = %v after 3 failures, want open", c.State())
	}
	before := n.Load()
	err := call(c)
	if domain.ErrorCode(err) != domain.EUNAVAILABLE || n.Load() != before {
		t.Fatalf("open breaker: err = %v, calls %d→%d; want EUNAVAILABLE without a call", err, before, n.Load())
	}
	time.Sleep(150 * time.Millisecond)
	if c.State() != gobreaker.StateHalfOpen {
		t.Fatalf("state = %v after the open period, want half-open", c.State())
	}
	// A failed trial reopens it.
	_ = call(c)
	if c.State() != gobreaker.StateOpen {
		t.Fatalf("state = %v after a failed trial, want open", c.State())
	}
	time.Sleep(150 * time.Millisecond)
	healthy.Store(true)
	if err := call(c); err != nil {
		t.Fatalf("trial call: %v", err)
	}
	if c.State() != gobreaker.StateClosed {
		t.Fatalf("state = %v after a good trial, want closed", c.State())
	}
}

func TestRequestIDIsPropagated(t *testing.T) {
	got := make(chan string, 1)
	srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get("X-Request-Id")
		body(`{"ok":true}`)(w, r)
	})
	var a answer
	ctx := obs.WithRequestID(context.Background(), "req-123")
	if err := newClient(t, srv.URL, nil).Do(ctx, http.MethodGet, "/x", nil, nil, &a); err != nil {
		t.Fatal(err)
	}
	if id := <-got; id != "req-123" {
		t.Fatalf("X-Request-Id = %q, want req-123", id)
	}
}

func TestRejectsBadBaseURL(t *testing.T) {
	for _, u := range []string{"", "scoring:7001", "ftp://x", "http://"} {
		if _, err := resilient.New(resilient.Config{Service: "s", BaseURL: u}, nil); err == nil {
			t.Errorf("New(%q) accepted", u)
		}
	}
}

func TestAbandonedCallsDoNotOpenTheBreaker(t *testing.T) {
	srv, _ := server(t, sleep(300*time.Millisecond))
	c := newClient(t, srv.URL, func(c *resilient.Config) { c.BreakerFailures = 2; c.AttemptTimeout = time.Second })
	for range 10 {
		// The caller gives up before the provider answers: the other
		// provider decided, the applicant hung up, or its deadline passed.
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		var a answer
		if err := c.Do(ctx, http.MethodGet, "/x", nil, nil, &a); domain.ErrorCode(err) != domain.EUNAVAILABLE {
			t.Fatalf("Do() = %v, want EUNAVAILABLE", err)
		}
		cancel()
		ctx, cancel = context.WithCancel(context.Background())
		go func() { time.Sleep(10 * time.Millisecond); cancel() }()
		_ = c.Do(ctx, http.MethodGet, "/x", nil, nil, &a)
	}
	if c.State() != gobreaker.StateClosed {
		t.Fatalf("state = %v after 20 abandoned calls, want closed", c.State())
	}
}

func TestErrorsNeverCarryTheQuery(t *testing.T) {
	slow, _ := server(t, sleep(time.Second))
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close() // connection refused
	for name, url := range map[string]string{"timeout": slow.URL, "refused": down.URL} {
		c := newClient(t, url, func(c *resilient.Config) { c.AttemptTimeout = 30 * time.Millisecond; c.Retries = 1 })
		var a answer
		q := neturl.Values{"document_number": {"30123950"}, "email": {"ana.secreta@example.com"}}
		err := c.Do(context.Background(), http.MethodGet, "/api/v1/scoring/", q, nil, &a)
		if err == nil {
			t.Fatalf("%s: no error", name)
		}
		if msg := err.Error(); strings.Contains(msg, "30123950") || strings.Contains(msg, "ana.secreta") {
			t.Errorf("%s: the error carries personal data: %s", name, msg)
		} else if !strings.Contains(msg, "/api/v1/scoring/") {
			t.Errorf("%s: the error no longer says what was called: %s", name, msg)
		}
	}
}
