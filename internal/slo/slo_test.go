package slo

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/loandesk/loandesk/internal/obs"
)

// traffic records a mix of answers on obs' real metrics.
func traffic(m *obs.Metrics) {
	add := func(route, status string, n int) {
		m.HTTPRequests.WithLabelValues(route, "POST", status).Add(float64(n))
	}
	add(FilingRoute, "201", 5)
	add(FilingRoute, "503", 2)
	add(FilingRoute, "429", 3) // a limit: neither good nor bad
	add(FilingRoute, "499", 1) // the client left
	add(FilingRoute, "400", 1) // the client's mistake: good
	add("GET /api/v1/admin/requests", "200", 4)
	add("PATCH /api/v1/admin/requests/{id}", "500", 1)
	add("GET /api/v1/admin/requests", "429", 2)
	add("GET /api/v1/requests/{code}", "500", 7) // neither objective's
	add("unmatched", "500", 1)
	for _, s := range []float64{0.1, 0.1, 2.5, 3, 9} {
		m.HTTPDuration.WithLabelValues(FilingRoute, "POST").Observe(s)
	}
	m.HTTPDuration.WithLabelValues("GET /api/v1/admin/requests", "GET").Observe(30)
	m.QueueAge.WithLabelValues("any").Set(700)
	m.QueueAge.WithLabelValues("ready").Set(900)
}

func TestReadCountsAsTheRulesDo(t *testing.T) {
	m := obs.NewMetrics()
	traffic(m)
	got, err := Read(m.Registry)
	if err != nil {
		t.Fatal(err)
	}
	want := Counts{FilingEligible: 8, FilingErrors: 2, FilingAll: 5, FilingSlow: 2, AdminEligible: 5, AdminErrors: 1, QueueAge: 700}
	if got != want {
		t.Fatalf("Read = %+v\nwant   %+v", got, want)
	}
}

// A report is a valid EMF document: every metric the directive names is a
// number at the top of the line, and each counts what happened since the
// line before.
func TestReportWritesEMFOfTheEventsSinceTheLastLine(t *testing.T) {
	m := obs.NewMetrics()
	traffic(m)
	prev, err := Read(m.Registry)
	if err != nil {
		t.Fatal(err)
	}
	m.HTTPRequests.WithLabelValues(FilingRoute, "POST", "503").Add(4)
	m.HTTPRequests.WithLabelValues(FilingRoute, "POST", "201").Add(6)
	m.QueueAge.WithLabelValues("any").Set(30)
	now, err := Read(m.Registry)
	if err != nil {
		t.Fatal(err)
	}
	var buf strings.Builder
	log := obs.NewLogger(&buf, "info", "api")
	at := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	log.Info("sli", EMF("LoanDesk/prod", at, prev, now)...)
	line := decodeEMF(t, buf.String(), "LoanDesk/prod")
	if line["_aws"].(map[string]any)["Timestamp"].(float64) != float64(at.UnixMilli()) {
		t.Errorf("Timestamp %v, want %d", line["_aws"], at.UnixMilli())
	}
	for name, want := range map[string]float64{"FilingEligible": 10, "FilingErrors": 4, "FilingAll": 0, "FilingSlow": 0, "AdminEligible": 0, "AdminErrors": 0, "DecisionsLate": 0} {
		if line[name] != want {
			t.Errorf("%s = %v, want %v", name, line[name], want)
		}
	}
}

// Report's last line, when its context ends, holds what the process
// counted since the line before (here none was written: everything).
func TestReportWritesALastLineWhenStopped(t *testing.T) {
	m := obs.NewMetrics()
	traffic(m)
	var buf strings.Builder
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	Report(ctx, m.Registry, obs.NewLogger(&buf, "info", "api"), "LoanDesk/test", time.Hour)
	line := decodeEMF(t, buf.String(), "LoanDesk/test")
	for name, want := range map[string]float64{"FilingEligible": 8, "FilingErrors": 2, "FilingAll": 5, "FilingSlow": 2, "AdminEligible": 5, "AdminErrors": 1, "DecisionsLate": 1} {
		if line[name] != want {
			t.Errorf("%s = %v, want %v", name, line[name], want)
		}
	}
}

func decodeEMF(t *testing.T, out, namespace string) map[string]any {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 1 {
		t.Fatalf("%d lines, want 1:\n%s", len(lines), out)
	}
	var line map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &line); err != nil {
		t.Fatal(err)
	}
	directive, _ := line["_aws"].(map[string]any)
	cwm, _ := directive["CloudWatchMetrics"].([]any)
	if len(cwm) != 1 {
		t.Fatalf("no CloudWatchMetrics directive in %s", lines[0])
	}
	d := cwm[0].(map[string]any)
	if d["Namespace"] != namespace {
		t.Errorf("Namespace %v, want %s", d["Namespace"], namespace)
	}
	if dims, _ := json.Marshal(d["Dimensions"]); string(dims) != "[[]]" {
		t.Errorf("Dimensions %s, want [[]]: no series per anything", dims)
	}
	named := 0
	for _, metric := range d["Metrics"].([]any) {
		name := metric.(map[string]any)["Name"].(string)
		if _, ok := line[name].(float64); !ok {
			t.Errorf("metric %s is not a number at the top of the line", name)
		}
		named++
	}
	if named != len(metricNames) {
		t.Errorf("%d metrics in the directive, want %d", named, len(metricNames))
	}
	return line
}

// The rules file and this package count the same events: the same routes,
// the same answers left out, the same latency bound and lateness. A change
// to either without the other fails here.
func TestTheRulesFileDefinesTheSameIndicators(t *testing.T) {
	b, err := os.ReadFile("../../deploy/prometheus/slo.rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	rules := string(b)
	for _, want := range []string{
		fmt.Sprintf(`loandesk_http_requests_total{route=%q,status=~"5.."}`, FilingRoute),
		fmt.Sprintf(`loandesk_http_requests_total{route=%q,status!~"429|499"}`, FilingRoute),
		fmt.Sprintf(`loandesk_http_request_duration_seconds_bucket{route=%q,le="%g"}`, FilingRoute, LatencyBound),
		fmt.Sprintf(`loandesk_http_request_duration_seconds_count{route=%q}`, FilingRoute),
		fmt.Sprintf(`max(loandesk_queue_age_seconds{of="any"}) > bool %d`, LateAfter),
	} {
		if !strings.Contains(rules, want) {
			t.Errorf("slo.rules.yml has no %s", want)
		}
	}
	// Every route matcher in the file is the filing's or the admin one,
	// and the admin regex selects exactly the routes isAdmin does.
	admin := ""
	for _, m := range regexp.MustCompile(`route(=~|=|!=|!~)"([^"]*)"`).FindAllStringSubmatch(rules, -1) {
		switch {
		case m[1] == "=" && m[2] == FilingRoute:
		case m[1] == "=~" && (admin == "" || admin == m[2]):
			admin = m[2]
		default:
			t.Errorf("slo.rules.yml selects route%s%q, which this package does not count", m[1], m[2])
		}
	}
	re := regexp.MustCompile("^(?:" + admin + ")$") // PromQL anchors its regexes
	for _, route := range []string{
		"GET /api/v1/admin/requests", "PATCH /api/v1/admin/requests/{id}", "POST /api/v1/admin/login", "DELETE /api/v1/admin/requests/{id}",
		"GET /api/v1/admin", "GET /api/v1/requests/{code}", FilingRoute, "unmatched", "GET /api/v1/administrators", " /api/v1/admin/x",
	} {
		if re.MatchString(route) != isAdmin(route) {
			t.Errorf("route %q: the rules' %q says %v, isAdmin %v", route, admin, re.MatchString(route), isAdmin(route))
		}
	}
}

// The logger and the EMF directive agree on a quiet period too: no events
// is a line of zeros, not a missing line (an alarm on a ratio needs both).
func TestAQuietPeriodIsALineOfZeros(t *testing.T) {
	var buf strings.Builder
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("sli", EMF("N", time.Unix(0, 0), Counts{}, Counts{})...)
	line := decodeEMF(t, buf.String(), "N")
	for _, n := range metricNames {
		if line[n] != 0.0 {
			t.Errorf("%s = %v, want 0", n, line[n])
		}
	}
}
