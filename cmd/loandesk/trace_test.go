package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	scoringprov "github.com/loandesk/loandesk/internal/provider/scoring"
)

// recordSpans makes the global tracer provider record into memory for the
// test (OTLP export is the same provider with another exporter).
func recordSpans(t *testing.T) *tracetest.InMemoryExporter {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	otel.SetTracerProvider(tp)
	t.Cleanup(func() { otel.SetTracerProvider(noop.NewTracerProvider()); _ = tp.Shutdown(t.Context()) })
	return exp
}

// inTrace lists the spans of one trace: their names, and the SQL of the
// database spans after a colon.
func inTrace(spans tracetest.SpanStubs, id trace.TraceID) []string {
	var names []string
	for _, s := range spans {
		if s.SpanContext.TraceID() != id {
			continue
		}
		name := s.Name
		for _, a := range s.Attributes {
			if a.Key == "db.statement" || a.Key == "db.query.text" {
				name += ": " + strings.Join(strings.Fields(a.Value.AsString()), " ")
			}
		}
		names = append(names, name)
	}
	return names
}

func has(names []string, pred func(string) bool) bool {
	for _, n := range names {
		if pred(n) {
			return true
		}
	}
	return false
}

func TestAFilingIsOneTraceFromRequestToDecision(t *testing.T) {
	exp := recordSpans(t)
	vars := baseVars(t)
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(503) }))
	t.Cleanup(down.Close)

	// Decided at once: the request, both providers and the database.
	a := startApp(t, map[string]string{"DATABASE_URL": vars["DATABASE_URL"]})
	a.expect(a.do("POST", "/api/v1/requests", application("30123950", "Ana Traza"), "Idempotency-Key", "trace-key-1"), 201, "submit")
	spans := exp.GetSpans()
	var filing trace.TraceID
	for _, s := range spans {
		if s.Name == "POST /api/v1/requests" {
			filing = s.SpanContext.TraceID()
		}
	}
	if !filing.IsValid() {
		t.Fatalf("no server span named by its route among %d spans", len(spans))
	}
	names := inTrace(spans, filing)
	checks := map[string]func(string) bool{
		"a call to scoring":  func(n string) bool { return strings.HasPrefix(n, "HTTP GET") },
		"a call to identity": func(n string) bool { return strings.HasPrefix(n, "HTTP POST") },
		"the request and its decision saved together": func(n string) bool {
			return strings.Contains(n, "INSERT INTO loan_requests") && strings.Contains(n, "INSERT INTO audit_events")
		},
	}
	for what, pred := range checks {
		if !has(names, pred) {
			t.Errorf("the filing's trace lacks %s: %v", what, names)
		}
	}

	// Undecided: the worker's decision, later, joins the same trace.
	exp.Reset()
	b := startApp(t, map[string]string{"DATABASE_URL": vars["DATABASE_URL"], "SCORING_URL": down.URL})
	r := b.do("POST", "/api/v1/requests", application("30123950", "Ana Cola"), "Idempotency-Key", "trace-key-2")
	b.expect(r, 201, "submit while scoring is down")
	code := r.json(t)["tracking_code"].(string)
	for _, s := range exp.GetSpans() {
		if s.Name == "POST /api/v1/requests" {
			filing = s.SpanContext.TraceID()
		}
	}
	process(t, "worker", vars)
	deadline := time.Now().Add(15 * time.Second)
	for b.do("GET", "/api/v1/requests/"+code, "").json(t)["status"] != "approved" {
		if time.Now().After(deadline) {
			t.Fatal("not decided within 15 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // the job's span ends after the decision is saved
	names = inTrace(exp.GetSpans(), filing)
	if !has(names, func(n string) bool { return strings.Contains(n, "river.work") }) ||
		!has(names, func(n string) bool { return strings.Contains(n, "UPDATE loan_requests") }) {
		t.Fatalf("the worker's decision is not in the filing's trace: %v", names)
	}
}

// A caller's trace context and baggage are not ours: the filing starts its
// own trace, and the providers get that one and no baggage.
func TestTraceContextFromTheInternetIsNotContinued(t *testing.T) {
	exp := recordSpans(t)
	seen := make(chan http.Header, 8)
	provider := scoringprov.Handler()
	scoring := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Clone()
		provider.ServeHTTP(w, r)
	}))
	t.Cleanup(scoring.Close)
	a := startApp(t, map[string]string{"SCORING_URL": scoring.URL})
	const foreign = "0af7651916cd43dd8448eb211c80319c"
	a.expect(a.do("POST", "/api/v1/requests", application("30123950", "Ana Ajena"), "Idempotency-Key", "foreign-trace-1",
		"traceparent", "00-"+foreign+"-b7ad6b7169203331-01", "baggage", "user=ana%40example.com"), 201, "submit")
	h := <-seen
	if b := h.Get("baggage"); b != "" {
		t.Errorf("the caller's baggage reached scoring: %q", b)
	}
	tp := h.Get("traceparent")
	if tp == "" || strings.Contains(tp, foreign) {
		t.Errorf("scoring got traceparent %q: want the filing's own trace, not the caller's", tp)
	}
	for _, s := range exp.GetSpans() {
		if s.SpanContext.TraceID().String() == foreign || s.Parent.TraceID().String() == foreign {
			t.Fatalf("span %q continues the caller's trace", s.Name)
		}
	}
}
