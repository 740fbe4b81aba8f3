// Package slo counts LoanDesk's service-level indicators the way
// deploy/prometheus/slo.rules.yml does, from the same Prometheus metrics,
// and reports them where no Prometheus runs: on AWS, as CloudWatch embedded
// metric format (EMF) lines on stdout, which the awslogs driver ships and
// CloudWatch Logs turns into metrics for the burn-rate alarms
// (deploy/aws/slo.go). A test reads the rules file and fails when the two
// definitions drift apart.
package slo

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// The indicators' definitions, as in slo.rules.yml.
const (
	// FilingRoute is the route pattern of a filing.
	FilingRoute = "POST /api/v1/requests"
	// AdminPathPrefix starts every admin route's path, whatever its method.
	AdminPathPrefix = "/api/v1/admin/"
	// LatencyBound is the filing latency objective's bound, in seconds: a
	// bucket boundary of loandesk_http_request_duration_seconds.
	LatencyBound = 2.5
	// LateAfter is the decision freshness bound, in seconds: a minute in
	// which some filing has waited longer for its decision is a bad one.
	LateAfter = 600
)

// Counts are the indicators' events since the process started, but for
// QueueAge, the oldest undecided filing's age now.
type Counts struct {
	FilingEligible float64 // filings answered but 429 and 499 (neither good nor bad)
	FilingErrors   float64 // of those, 5xx
	FilingAll      float64 // every filing, for latency
	FilingSlow     float64 // of those, slower than LatencyBound
	AdminEligible  float64 // admin requests but 429 and 499
	AdminErrors    float64 // of those, 5xx
	QueueAge       float64
}

// Read counts the indicators in g's metrics (obs.Metrics' registry).
func Read(g prometheus.Gatherer) (Counts, error) {
	families, err := g.Gather()
	if err != nil {
		return Counts{}, err
	}
	var c Counts
	for _, f := range families {
		switch f.GetName() {
		case "loandesk_http_requests_total":
			for _, m := range f.GetMetric() {
				route, status := label(m, "route"), label(m, "status")
				n := m.GetCounter().GetValue()
				eligible := status != "429" && status != "499"
				bad := strings.HasPrefix(status, "5")
				switch {
				case route == FilingRoute:
					c.FilingEligible += when(eligible, n)
					c.FilingErrors += when(bad, n)
				case isAdmin(route):
					c.AdminEligible += when(eligible, n)
					c.AdminErrors += when(bad, n)
				}
			}
		case "loandesk_http_request_duration_seconds":
			for _, m := range f.GetMetric() {
				if label(m, "route") != FilingRoute {
					continue
				}
				h := m.GetHistogram()
				within := -1.0
				for _, b := range h.GetBucket() {
					if b.GetUpperBound() == LatencyBound {
						within = float64(b.GetCumulativeCount())
					}
				}
				if within < 0 {
					return Counts{}, fmt.Errorf("loandesk_http_request_duration_seconds has no bucket at %g s", LatencyBound)
				}
				c.FilingAll += float64(h.GetSampleCount())
				c.FilingSlow += float64(h.GetSampleCount()) - within
			}
		case "loandesk_queue_age_seconds":
			for _, m := range f.GetMetric() {
				if label(m, "of") == "any" {
					c.QueueAge = max(c.QueueAge, m.GetGauge().GetValue())
				}
			}
		}
	}
	return c, nil
}

// isAdmin: "METHOD /api/v1/admin/…", the rules' route=~"[A-Z]+ /api/v1/admin/.*".
func isAdmin(route string) bool {
	method, path, ok := strings.Cut(route, " ")
	return ok && method != "" && strings.Trim(method, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == "" && strings.HasPrefix(path, AdminPathPrefix)
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func when(b bool, n float64) float64 {
	if b {
		return n
	}
	return 0
}

// Metric names in CloudWatch, one per indicator count; deploy/aws/slo.go
// alarms on them.
var metricNames = []string{"FilingEligible", "FilingErrors", "FilingAll", "FilingSlow", "AdminEligible", "AdminErrors", "DecisionsLate"}

// Report writes one EMF line to log every period (and a last one when ctx
// ends): the events counted since the line before, and DecisionsLate, 1 if
// a filing has waited past LateAfter for its decision, else 0 (averaged
// over a window, the share of late minutes). Namespace is the CloudWatch
// namespace; the metrics have no dimensions, so each line is a constant
// few hundred bytes whatever the traffic.
func Report(ctx context.Context, g prometheus.Gatherer, log *slog.Logger, namespace string, period time.Duration) {
	var last Counts
	emit := func(ctx context.Context, now time.Time) {
		c, err := Read(g)
		if err != nil {
			log.ErrorContext(ctx, "cannot count the service-level indicators", "err", err)
			return
		}
		log.InfoContext(ctx, "sli", EMF(namespace, now, last, c)...)
		last = c
	}
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			emit(context.WithoutCancel(ctx), time.Now())
			return
		case now := <-t.C:
			emit(ctx, now)
		}
	}
}

// EMF is one report's attributes for a JSON log line: "_aws" (the metric
// directive) and each metric's value, the difference from prev to now.
func EMF(namespace string, at time.Time, prev, now Counts) []any {
	metrics := make([]map[string]string, len(metricNames))
	for i, n := range metricNames {
		metrics[i] = map[string]string{"Name": n, "Unit": "Count"}
	}
	late := 0
	if now.QueueAge > LateAfter {
		late = 1
	}
	return []any{
		slog.Any("_aws", map[string]any{
			"Timestamp": at.UnixMilli(),
			"CloudWatchMetrics": []any{map[string]any{
				"Namespace": namespace, "Dimensions": [][]string{{}}, "Metrics": metrics,
			}},
		}),
		"FilingEligible", now.FilingEligible - prev.FilingEligible,
		"FilingErrors", now.FilingErrors - prev.FilingErrors,
		"FilingAll", now.FilingAll - prev.FilingAll,
		"FilingSlow", now.FilingSlow - prev.FilingSlow,
		"AdminEligible", now.AdminEligible - prev.AdminEligible,
		"AdminErrors", now.AdminErrors - prev.AdminErrors,
		"DecisionsLate", late,
	}
}
