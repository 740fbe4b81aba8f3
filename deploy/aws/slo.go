package main

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sns"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// The service-level objectives on AWS: the same as
// deploy/prometheus/slo.rules.yml, whose burn-rate alerts become CloudWatch
// alarms here (slo_test.go fails when the two disagree). The ALB cannot
// tell a filing from an admin request nor a 429 from another client error,
// so the indicators come from the api itself: once a minute each api task
// writes an embedded-metric-format line (internal/slo) that CloudWatch Logs
// turns into these metrics, in SLINamespace, with no dimensions.

// SLINamespace is where the api's indicator metrics go: one per stack.
func SLINamespace(cfg Config) string { return "LoanDesk/" + cfg.Name }

// Objective is one SLO: a share of good events over 30 days, measured by
// bad/total (two summed metrics) or, for a time-based one, by the average
// of a 0-or-1 metric (Late).
type Objective struct {
	Name       string  // the rules' slo label
	Target     float64 // good share, e.g. 0.995
	Bad, Total string  // metrics summed: bad events, eligible events
	Late       string  // or: a metric that is 1 for a bad minute, averaged
	Summary    string
}

// Objectives are the rules' four SLOs.
var Objectives = []Objective{
	{Name: "filing-availability", Target: 0.995, Bad: "FilingErrors", Total: "FilingEligible", Summary: "Filings fail with 5xx fast enough to spend the month's error budget early"},
	{Name: "filing-latency", Target: 0.99, Bad: "FilingSlow", Total: "FilingAll", Summary: "Filings are slower than 2.5 s fast enough to spend the month's budget early"},
	{Name: "admin-availability", Target: 0.995, Bad: "AdminErrors", Total: "AdminEligible", Summary: "Admin requests fail with 5xx fast enough to spend the month's budget early"},
	{Name: "decision-freshness", Target: 0.99, Late: "DecisionsLate", Summary: "Filings wait more than 10 minutes for a decision often enough to spend the month's budget early"},
}

// BurnWindows are the SRE workbook's multi-window pairs: each pages when
// both its windows burn the budget faster than Factor times its even rate.
var BurnWindows = []struct {
	Long, Short time.Duration
	Factor      float64
}{
	{time.Hour, 5 * time.Minute, 14.4},
	{6 * time.Hour, 30 * time.Minute, 6},
}

// BurnAlarmName is the composite alarm that pages for o: named like the
// rules' alert, and its runbook section.
func BurnAlarmName(o Objective) string {
	var b strings.Builder
	for _, w := range strings.Split(o.Name, "-") {
		b.WriteString(strings.ToUpper(w[:1]) + w[1:])
	}
	return b.String() + "BudgetBurn"
}

// windowName is "1h", "5m": the rules' ratio_rate suffixes.
func windowName(d time.Duration) string {
	if d%time.Hour == 0 {
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	return fmt.Sprintf("%dm", d/time.Minute)
}

// NewSLOAlarms creates, per objective, one alarm per window (no actions of
// their own: a single window is a blip or a slow burn already noticed)
// and the composite alarm that pages: (1 h and 5 m) or (6 h and 30 m).
func NewSLOAlarms(ctx *pulumi.Context, cfg Config, topic *sns.Topic) error {
	actions := pulumi.StringArray{topic.Arn}
	ns := pulumi.String(SLINamespace(cfg))
	for _, o := range Objectives {
		budget := 1 - o.Target
		var pairs []string
		var windows []pulumi.Resource // the composite names them: created first, deleted last
		for _, bw := range BurnWindows {
			var pair []string
			for _, w := range []time.Duration{bw.Long, bw.Short} {
				name := fmt.Sprintf("%s-%s-burn-%s", cfg.Name, o.Name, windowName(w))
				period := pulumi.Int(int(w / time.Second))
				metric := func(id, metric, stat string, ret bool) *cloudwatch.MetricAlarmMetricQueryArgs {
					return &cloudwatch.MetricAlarmMetricQueryArgs{Id: pulumi.String(id), ReturnData: pulumi.Bool(ret),
						Metric: &cloudwatch.MetricAlarmMetricQueryMetricArgs{Namespace: ns, MetricName: pulumi.String(metric), Period: period, Stat: pulumi.String(stat)}}
				}
				var queries cloudwatch.MetricAlarmMetricQueryArray
				if o.Late != "" {
					queries = append(queries, metric("late", o.Late, "Average", true))
				} else {
					// No eligible event in the window is no burn, not a gap.
					queries = append(queries,
						&cloudwatch.MetricAlarmMetricQueryArgs{Id: pulumi.String("ratio"), Expression: pulumi.String("IF(total > 0, bad / total, 0)"),
							Label: pulumi.String("bad share"), ReturnData: pulumi.Bool(true)},
						metric("bad", o.Bad, "Sum", false), metric("total", o.Total, "Sum", false))
				}
				a, err := cloudwatch.NewMetricAlarm(ctx, o.Name+"-burn-"+windowName(w), &cloudwatch.MetricAlarmArgs{
					Name:               pulumi.String(name),
					AlarmDescription:   pulumi.Sprintf("%s: bad share over %s above %g x the budget (%.3g)", o.Name, windowName(w), bw.Factor, budget),
					ComparisonOperator: pulumi.String("GreaterThanThreshold"), Threshold: pulumi.Float64(math.Round(bw.Factor*budget*1e6) / 1e6),
					EvaluationPeriods: pulumi.Int(1), TreatMissingData: pulumi.String("notBreaching"), MetricQueries: queries,
				})
				if err != nil {
					return err
				}
				windows = append(windows, a)
				pair = append(pair, fmt.Sprintf("ALARM(%q)", name))
			}
			pairs = append(pairs, "("+strings.Join(pair, " AND ")+")")
		}
		if _, err := cloudwatch.NewCompositeAlarm(ctx, o.Name+"-budget-burn", &cloudwatch.CompositeAlarmArgs{
			AlarmName:        pulumi.String(cfg.Name + "-" + BurnAlarmName(o)),
			AlarmDescription: pulumi.String(o.Summary + ". Runbook: docs/operations.md#" + strings.ToLower(BurnAlarmName(o))),
			AlarmRule:        pulumi.String(strings.Join(pairs, " OR ")),
			AlarmActions:     actions, OkActions: actions,
		}, pulumi.DependsOn(windows)); err != nil {
			return err
		}
	}
	// The alarms above take no data as no burn: if the api stops writing
	// its lines (a task definition without SLI_EMF_NAMESPACE, lines
	// CloudWatch refuses), they would stay quiet. Each api task writes one
	// a minute; none in 10 minutes pages.
	_, err := cloudwatch.NewMetricAlarm(ctx, "sli-missing", &cloudwatch.MetricAlarmArgs{
		Name:             pulumi.String(cfg.Name + "-sli-missing"),
		AlarmDescription: pulumi.String("No service-level indicators from the api for 10 minutes: the SLO alarms are blind. Runbook: docs/operations.md#alerts"),
		Namespace:        ns, MetricName: pulumi.String("DecisionsLate"), Statistic: pulumi.String("SampleCount"), Period: pulumi.Int(600),
		ComparisonOperator: pulumi.String("LessThanThreshold"), Threshold: pulumi.Float64(1), EvaluationPeriods: pulumi.Int(1),
		TreatMissingData: pulumi.String("breaching"), AlarmActions: pulumi.Array{topic.Arn}, OkActions: pulumi.Array{topic.Arn},
	})
	return err
}
