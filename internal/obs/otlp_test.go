package obs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace/noop"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

func TestSpansAreExportedOverOTLPHTTP(t *testing.T) {
	got := make(chan *tracepb.TracesData, 1)
	var auth, ctype string
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/traces" {
			http.NotFound(w, r)
			return
		}
		auth, ctype = r.Header.Get("Authorization"), r.Header.Get("Content-Type")
		b, _ := io.ReadAll(r.Body)
		var td tracepb.TracesData
		if err := proto.Unmarshal(b, &td); err != nil {
			t.Errorf("not OTLP protobuf: %v", err)
		}
		got <- &td
	}))
	defer collector.Close()
	env := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": collector.URL + "/", "OTEL_EXPORTER_OTLP_HEADERS": "Authorization=Bearer%20abc"}
	ctx := context.Background()
	stop, err := SetupTracing(ctx, "loandesk-test", "v1", func(k string) string { return env[k] }, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { otel.SetTracerProvider(noop.NewTracerProvider()) })
	_, span := otel.Tracer("test").Start(ctx, "a span")
	span.SetAttributes(attribute.String("url.full", "http://scoring:7001/api/v1/scoring/?document_number=30123950&email=ana%40x.com"),
		attribute.String("db.system", "redis"), attribute.String("db.statement", `set loandesk:session:ab {"email":"ana@x.com"}`),
		attribute.String("http.request.method_original", "BREW"), attribute.String("http.route", "/api/v1/requests"))
	span.RecordError(errors.New(`Get "http://scoring:7001/api/v1/scoring/?document_number=30123950": context deadline exceeded`))
	span.SetStatus(codes.Error, "calling https://identity/check?email=ana%40x.com failed")
	span.End()
	if err := stop(ctx); err != nil { // flushes
		t.Fatal(err)
	}
	td := <-got
	if ctype != "application/x-protobuf" || auth != "Bearer abc" {
		t.Errorf("Content-Type %q, Authorization %q", ctype, auth)
	}
	rs := td.GetResourceSpans()
	if len(rs) != 1 || len(rs[0].GetScopeSpans()) != 1 || rs[0].GetScopeSpans()[0].GetSpans()[0].GetName() != "a span" {
		t.Fatalf("exported %v", td)
	}
	// What leaves the process: the URL without its query, no statement of
	// a key-value store, no method of the client's; the route stays.
	attrs := map[string]string{}
	for _, a := range rs[0].GetScopeSpans()[0].GetSpans()[0].GetAttributes() {
		attrs[a.GetKey()] = a.GetValue().GetStringValue()
	}
	want := map[string]string{"url.full": "http://scoring:7001/api/v1/scoring/", "db.system": "redis", "http.route": "/api/v1/requests"}
	if !maps.Equal(attrs, want) {
		t.Errorf("exported attributes %v, want %v", attrs, want)
	}
	exported := rs[0].GetScopeSpans()[0].GetSpans()[0]
	if text := fmt.Sprint(exported.GetEvents(), exported.GetStatus()); strings.Contains(text, "30123950") ||
		strings.Contains(text, "ana%40x.com") || !strings.Contains(text, "http://scoring:7001/api/v1/scoring/") {
		t.Errorf("an event or the status kept a URL's query: %s", text)
	}
	service := ""
	for _, a := range rs[0].GetResource().GetAttributes() {
		if a.GetKey() == "service.name" {
			service = a.GetValue().GetStringValue()
		}
	}
	if service != "loandesk-test" {
		t.Errorf("service.name %q", service)
	}
}

func TestTracingIsOffWithoutAnEndpoint(t *testing.T) {
	stop, err := SetupTracing(context.Background(), "x", "v", func(string) string { return "" }, slog.New(slog.DiscardHandler))
	if err != nil || stop(context.Background()) != nil {
		t.Fatal(err)
	}
	if _, span := otel.Tracer("t").Start(context.Background(), "s"); span.IsRecording() {
		t.Fatal("spans are recorded with tracing off")
	}
	if _, err := SetupTracing(context.Background(), "x", "v", func(k string) string {
		return map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"}[k]
	}, slog.New(slog.DiscardHandler)); err == nil {
		t.Fatal("an endpoint without a scheme was accepted")
	}
}
