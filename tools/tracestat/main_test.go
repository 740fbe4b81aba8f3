package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// One request of 10 ms: two provider calls that overlap (2-6 ms and 4-8
// ms) and an INSERT inside the second: 6 ms covered, 4 ms in the API itself.
func TestReportBreaksARequestDown(t *testing.T) {
	ms := func(n uint64) uint64 { return 1_000_000_000 + n*1_000_000 }
	sp := func(id, parent byte, name string, from, to uint64) *tracepb.Span {
		s := &tracepb.Span{TraceId: bytes.Repeat([]byte{1}, 16), SpanId: []byte{id, 0, 0, 0, 0, 0, 0, 0}, Name: name,
			StartTimeUnixNano: ms(from), EndTimeUnixNano: ms(to)}
		if parent != 0 {
			s.ParentSpanId = []byte{parent, 0, 0, 0, 0, 0, 0, 0}
		}
		return s
	}
	body, _ := proto.Marshal(&tracepb.TracesData{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{{Key: "service.name",
			Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: "loandesk-api"}}}}},
		ScopeSpans: []*tracepb.ScopeSpans{{Spans: []*tracepb.Span{
			sp(1, 0, "POST /api/v1/requests", 0, 10), sp(2, 1, "HTTP GET", 2, 6), sp(3, 1, "HTTP POST", 4, 8), sp(4, 3, "INSERT", 5, 7),
			// In the same trace but not the request's: a queued job's span.
			sp(5, 9, "job", 3, 4),
		}}},
	}}})
	st := &store{traces: map[string][]span{}, summary: true}
	rec := httptest.NewRecorder()
	st.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/traces", bytes.NewReader(body)))
	if rec.Code != http.StatusOK {
		t.Fatalf("export answered %d", rec.Code)
	}
	var out strings.Builder
	st.report(&out, "POST /api/v1/requests")
	cells := regexp.MustCompile(` *\| *`).ReplaceAllString(out.String(), "|")
	for _, want := range []string{"in the API itself (not in any child span)|1.00|4.00 ms|4.00 ms|40 %|",
		"loandesk-api|HTTP GET|1.00|4.00 ms|", "loandesk-api|INSERT|1.00|2.00 ms|2.00 ms|20 %|", "1 requests traced"} {
		if !strings.Contains(cells, want) {
			t.Errorf("the report lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(cells, "|job|") {
		t.Errorf("a span outside the request counted as its part:\n%s", out.String())
	}
	rec = httptest.NewRecorder()
	st.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/traces", strings.NewReader("not protobuf")))
	if rec.Code != http.StatusBadRequest {
		t.Errorf("a body that is not an export: %d, want 400", rec.Code)
	}
}

// -dump keeps every export whole, one JSON line each, and serves them.
func TestDumpKeepsEveryExportAndServesIt(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "spans")
	if err != nil {
		t.Fatal(err)
	}
	st := &store{traces: map[string][]span{}, dump: f}
	for _, name := range []string{"first", "second"} {
		body, _ := proto.Marshal(&tracepb.TracesData{ResourceSpans: []*tracepb.ResourceSpans{{ScopeSpans: []*tracepb.ScopeSpans{{
			Spans: []*tracepb.Span{{Name: name, Attributes: []*commonpb.KeyValue{{Key: "url.full",
				Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: "http://x/?q=" + name}}}}}},
		}}}}})
		rec := httptest.NewRecorder()
		st.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/traces", bytes.NewReader(body)))
		if rec.Code != http.StatusOK {
			t.Fatalf("export %s: %d", name, rec.Code)
		}
	}
	b, _ := os.ReadFile(f.Name())
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"first"`) || !strings.Contains(lines[1], "q=second") {
		t.Fatalf("dump %q, want both exports whole, a line each", b)
	}
}
