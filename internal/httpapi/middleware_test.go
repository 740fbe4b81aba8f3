package httpapi

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/loandesk/loandesk/internal/clientaddr"
	"github.com/loandesk/loandesk/internal/domain"
	"github.com/loandesk/loandesk/internal/obs"
)

func TestDecodeRefusesAmbiguousKeys(t *testing.T) {
	for body, field := range map[string]string{
		`{"email":"a@x.com","email":"b@x.com"}`:                "email",
		`{"email":"a@x.com","EMAIL":"b@x.com"}`:                "EMAIL",
		`{"Email":"a@x.com"}`:                                  "Email",
		`{"password":"p","email":"a@x.com","email":"a@x.com"}`: "email",
	} {
		r := httptest.NewRequest("POST", "/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		var in struct {
			Email    string `json:"email"`
			Password string `json:"password"`
		}
		err := decode(httptest.NewRecorder(), r, &in)
		e, ok := domain.AsError(err)
		if !ok || e.Code != domain.EINVALID || e.Fields[field] == "" {
			t.Errorf("%s: err = %v, want EINVALID naming %q", body, err, field)
		}
	}
	r := httptest.NewRequest("POST", "/", strings.NewReader(`{"email":"a@x.com","password":"p"}`))
	r.Header.Set("Content-Type", "application/json")
	var in struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if err := decode(httptest.NewRecorder(), r, &in); err != nil || in.Email != "a@x.com" {
		t.Fatalf("a plain body: %v %+v", err, in)
	}
}

// series counts the samples of one metric family on a /metrics page.
func series(t *testing.T, m *obs.Metrics, family string) int {
	t.Helper()
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	n := 0
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if strings.HasPrefix(line, family+"{") {
			n++
		}
	}
	return n
}

// Random methods and paths, as a client that tries everything would send:
// the request metrics stay at the series a handful of requests make, and
// every answer is problem+json.
func TestJunkRequestsAddNoSeries(t *testing.T) {
	m := obs.NewMetrics()
	srv := NewServer(Config{Metrics: m, Log: slog.New(slog.DiscardHandler)})
	rng := rand.New(rand.NewPCG(1, 2))
	letters := "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	word := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = letters[rng.IntN(len(letters))]
		}
		return string(b)
	}
	paths := []string{"/api/v1/requests", "/api/v1/admin/stats", "/api/v1/requests/LD-ABCD-EFGH"}
	for i := range 2000 {
		method := word(1 + rng.IntN(40))
		path := paths[i%len(paths)]
		if i%2 == 0 {
			path = "/" + strings.ToLower(word(1+rng.IntN(60))) + "/" + strconv.Itoa(i)
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
		if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
			t.Fatalf("%s %s: %d with %q, want problem+json", method, path, rec.Code, ct)
		}
	}
	// route ∈ {unmatched, 3 patterns answered 405 by the fallback}, method
	// OTHER, status ∈ {404, 405}: a handful, not one per request.
	if n := series(t, m, "loandesk_http_requests_total"); n > 4 {
		t.Fatalf("%d request series after 2,000 junk requests", n)
	}
}

func TestShedAnswers503PastMaxInFlight(t *testing.T) {
	m := obs.NewMetrics()
	hold, held := make(chan struct{}), make(chan struct{}, 2)
	h := shed(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			held <- struct{}{}
			<-hold
		}
		w.WriteHeader(http.StatusNoContent)
	}), 2, 0, clientaddr.Resolver{}, m, slog.New(slog.DiscardHandler))
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/slow", nil))
		}()
	}
	<-held
	<-held
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/slow", nil))
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "1" ||
		rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("third request: %d %v, want 503 problem+json with Retry-After 1", rec.Code, rec.Header())
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != http.StatusNoContent {
		t.Fatalf("health check shed: %d", rec.Code)
	}
	close(hold)
	wg.Wait()
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/slow", nil))
	if rec.Code != http.StatusNoContent {
		t.Fatalf("after the others finished: %d", rec.Code)
	}
}

// One client may hold perClient of the process's slots; the others are
// left for everyone else, and its slots come back as its requests end.
func TestOneClientTakesOnlyItsShareOfTheSlots(t *testing.T) {
	m := obs.NewMetrics()
	hold := make(chan struct{})
	held := make(chan struct{}, 8)
	h := shed(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			held <- struct{}{}
			<-hold
		}
		w.WriteHeader(http.StatusNoContent)
	}), 8, 2, clientaddr.Resolver{}, m, slog.New(slog.DiscardHandler))
	from := func(addr, path string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", path, nil)
		r.RemoteAddr = addr + ":4000"
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec
	}
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() { defer wg.Done(); from("203.0.113.1", "/slow") }()
	}
	<-held
	<-held
	if rec := from("203.0.113.1", "/slow"); rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "1" {
		t.Fatalf("a third at once from one client: %d, want 429 with Retry-After", rec.Code)
	}
	if rec := from("198.51.100.2", "/fast"); rec.Code != http.StatusNoContent {
		t.Fatalf("another client meanwhile: %d", rec.Code)
	}
	close(hold)
	wg.Wait()
	if rec := from("203.0.113.1", "/fast"); rec.Code != http.StatusNoContent {
		t.Fatalf("the first client after its requests ended: %d", rec.Code)
	}
}

// A client who hangs up ends its request's context with ErrCallerGone as
// the cause (what the database adapter keys on); nothing else does.
func TestAHangUpIsCalledSo(t *testing.T) {
	started, cause := make(chan struct{}), make(chan error, 1)
	srv := httptest.NewServer(callerGone(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/quick" {
			if err := r.Context().Err(); err != nil {
				t.Errorf("a request in progress has an ended context: %v", err)
			}
			return
		}
		close(started)
		<-r.Context().Done()
		cause <- context.Cause(r.Context())
	})))
	defer srv.Close()
	if resp, err := srv.Client().Get(srv.URL + "/quick"); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/slow", nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if resp, err := srv.Client().Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	<-started
	cancel()
	if got := <-cause; !errors.Is(got, domain.ErrCallerGone) {
		t.Fatalf("cause %v, want domain.ErrCallerGone", got)
	}
	<-done
}

// A request whose caller hung up is answered 499 whatever the adapter said
// meanwhile: a statement left to finish that the database then cancelled
// (57014, unavailable) is not the server failing.
func TestAHungUpRequestIsA499WhateverTheDatabaseSaid(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(domain.ErrCallerGone)
	r := httptest.NewRequest(http.MethodPost, "/api/v1/requests", nil).WithContext(ctx)
	w := httptest.NewRecorder()
	writeError(w, r, slog.New(slog.NewTextHandler(io.Discard, nil)), domain.Errorf(domain.EUNAVAILABLE, "the database cannot answer now"))
	if w.Code != statusClientClosed {
		t.Fatalf("status %d, want %d", w.Code, statusClientClosed)
	}
}

// A 503 says why in the log (a shed request, a timeout and a lost primary
// need different remedies), by route, never by what the client sent.
func TestA503IsLoggedWithItsCause(t *testing.T) {
	var buf strings.Builder
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	r := httptest.NewRequest(http.MethodGet, "/api/v1/requests/LD-SECRET", nil)
	r.Pattern = "GET /api/v1/requests/{code}"
	w := httptest.NewRecorder()
	cause := errors.New("canceling statement due to statement timeout")
	writeError(w, r, log, errors.Join(&domain.Error{Code: domain.EUNAVAILABLE, Message: "the database is unavailable; retry shortly", RetryAfter: 2}, cause))
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") != "2" {
		t.Fatalf("answer %d, Retry-After %q; want 503, 2", w.Code, w.Header().Get("Retry-After"))
	}
	line := buf.String()
	for _, want := range []string{`"level":"WARN"`, `"msg":"unavailable"`, `"route":"GET /api/v1/requests/{code}"`, "statement timeout"} {
		if !strings.Contains(line, want) {
			t.Errorf("log %q lacks %s", line, want)
		}
	}
	if strings.Contains(line, "LD-SECRET") {
		t.Errorf("log %q holds the path the client sent", line)
	}
	if strings.Contains(w.Body.String(), "statement timeout") {
		t.Errorf("answer %q shows the cause to the caller", w.Body.String())
	}
	// A 503 of ours alone (shed, a claim in progress) says all in its
	// answer: no second line per request while overloaded.
	buf.Reset()
	writeError(httptest.NewRecorder(), r, log, &domain.Error{Code: domain.EUNAVAILABLE, Message: "the server is busy; retry in a second", RetryAfter: 1})
	if buf.Len() != 0 {
		t.Errorf("a bare 503 logged %q", buf.String())
	}
}

// A filing refused before the mux (the process at its maximum in flight)
// counts as a filing answered 503, not as an unmatched request: the
// filing SLO sees it. Junk stays unmatched.
func TestAShedRequestCountsUnderItsRoute(t *testing.T) {
	m := obs.NewMetrics()
	mux := http.NewServeMux()
	mux.Handle("POST /api/v1/requests", http.NotFoundHandler())
	refuse := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
	h := observe(refuse, m, slog.New(slog.DiscardHandler), mux)
	for _, path := range []string{"/api/v1/requests", "/nowhere"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, path, nil))
	}
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, want := range []string{
		`loandesk_http_requests_total{method="POST",route="POST /api/v1/requests",status="503"} 1`,
		`loandesk_http_requests_total{method="POST",route="unmatched",status="503"} 1`,
	} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
