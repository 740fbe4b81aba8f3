package main

import (
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// burn is one window of one burn-rate condition: the objective (the rules'
// slo label), the window, and the bad share above which it burns.
type burn struct {
	slo, window string
	threshold   float64
}

// rulesBurns reads every window of every burn-rate alert in the
// Prometheus rules: "loandesk:x:ratio_rate1h > 14.4 * 0.005".
func rulesBurns(t *testing.T) map[burn]bool {
	t.Helper()
	b, err := os.ReadFile("../prometheus/slo.rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Groups []struct {
			Rules []struct {
				Alert, Expr string
				Labels      map[string]string
			}
		}
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	cond := regexp.MustCompile(`loandesk:\w+:ratio_rate(\w+) > ([0-9.]+) \* ([0-9.]+)`)
	out := map[burn]bool{}
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" || r.Labels["slo"] == "" {
				continue
			}
			ms := cond.FindAllStringSubmatch(r.Expr, -1)
			if len(ms) != 4 {
				t.Errorf("alert %s: %d burn conditions, want 4 (two windows of two pairs)", r.Alert, len(ms))
			}
			for _, m := range ms {
				factor, _ := strconv.ParseFloat(m[2], 64)
				budget, _ := strconv.ParseFloat(m[3], 64)
				out[burn{r.Labels["slo"], m[1], round(factor * budget)}] = true
			}
		}
	}
	return out
}

func round(f float64) float64 { return float64(int64(f*1e6+0.5)) / 1e6 }

// The CloudWatch alarms the program creates are the rules' burn-rate
// conditions: the same objectives, windows and thresholds, and each
// composite alarm pages on the rules' pairs. Changing a target, a factor
// or a window on one side only fails here.
func TestSLOAlarmsAreThePrometheusRules(t *testing.T) {
	want := rulesBurns(t)
	if len(want) != 16 {
		t.Errorf("%d burn conditions in the rules, want 16 (4 objectives x 4 windows)", len(want))
	}
	inv := mustDeploy(t)
	got := map[burn]bool{}
	byName := map[string]burn{}
	name := regexp.MustCompile(`^loandesk-(.+)-burn-(\w+)$`)
	for _, a := range inv.ofType("aws:cloudwatch/metricAlarm:MetricAlarm") {
		m := name.FindStringSubmatch(a.str("name"))
		if m == nil {
			continue
		}
		b := burn{m[1], m[2], round(a.get("threshold").(float64))}
		got[b], byName[a.str("name")] = true, b
		window, err := time.ParseDuration(m[2])
		if err != nil {
			t.Fatalf("alarm %s: window %q: %v", a.Name, m[2], err)
		}
		if acts, _ := a.get("alarmActions").([]any); len(acts) != 0 {
			t.Errorf("alarm %s pages alone; only its composite should", a.Name)
		}
		if a.get("evaluationPeriods") != 1.0 || a.str("comparisonOperator") != "GreaterThanThreshold" || a.str("treatMissingData") != "notBreaching" {
			t.Errorf("alarm %s: %v periods, %s, missing data %s", a.Name, a.get("evaluationPeriods"), a.str("comparisonOperator"), a.str("treatMissingData"))
		}
		returned := 0
		for _, q := range asSlice(a.get("metricQueries")) {
			q := q.(map[string]any)
			if q["returnData"] == true {
				returned++
			}
			if metric, ok := q["metric"].(map[string]any); ok {
				if metric["period"] != window.Seconds() || metric["namespace"] != "LoanDesk/loandesk" {
					t.Errorf("alarm %s reads %v over %v s, want LoanDesk/loandesk over the window's %v s", a.Name, metric["metricName"], metric["period"], window.Seconds())
				}
			}
		}
		if returned != 1 {
			t.Errorf("alarm %s returns %d series, want 1", a.Name, returned)
		}
	}
	for b := range want {
		if !got[b] {
			t.Errorf("the rules burn %s over %s above %g; no alarm does", b.slo, b.window, b.threshold)
		}
	}
	for b := range got {
		if !want[b] {
			t.Errorf("an alarm burns %s over %s above %g; the rules do not", b.slo, b.window, b.threshold)
		}
	}
	// Each composite pages on both windows of a pair, either pair.
	composites := inv.ofType("aws:cloudwatch/compositeAlarm:CompositeAlarm")
	if len(composites) != len(Objectives) {
		t.Fatalf("%d composite alarms, want one per objective (%d)", len(composites), len(Objectives))
	}
	ref := regexp.MustCompile(`ALARM\("([^"]+)"\)`)
	for _, c := range composites {
		if acts, _ := c.get("alarmActions").([]any); len(acts) == 0 {
			t.Errorf("composite %s notifies no one", c.Name)
		}
		rule := c.str("alarmRule")
		var windows []string
		slo := ""
		for _, m := range ref.FindAllStringSubmatch(rule, -1) {
			b, ok := byName[m[1]]
			if !ok {
				t.Errorf("composite %s names %s, which is no burn alarm", c.Name, m[1])
				continue
			}
			if slo != "" && b.slo != slo {
				t.Errorf("composite %s mixes %s and %s", c.Name, slo, b.slo)
			}
			slo = b.slo
			windows = append(windows, b.window)
		}
		if got := strings.Join(windows, " "); got != "1h 5m 6h 30m" || !strings.Contains(rule, ") OR (") || strings.Count(rule, " AND ") != 2 {
			t.Errorf("composite %s: %q, want (1h AND 5m) OR (6h AND 30m)", c.Name, rule)
		}
		if !strings.Contains(c.str("alarmDescription"), "docs/operations.md#") {
			t.Errorf("composite %s has no runbook link", c.Name)
		}
	}
}

// If the api's lines stop, the burn alarms (no data: no burn) are blind;
// one alarm pages on their absence.
func TestMissingIndicatorsPage(t *testing.T) {
	inv := mustDeploy(t)
	a := inv.one("aws:cloudwatch/metricAlarm:MetricAlarm", "sli-missing")
	if a.str("namespace") != "LoanDesk/loandesk" || a.str("statistic") != "SampleCount" || a.str("treatMissingData") != "breaching" ||
		a.str("comparisonOperator") != "LessThanThreshold" || a.get("threshold") != 1.0 {
		t.Errorf("sli-missing: %s %s %s missing=%s %s %v; want SampleCount of a LoanDesk/loandesk metric under 1, missing data breaching",
			a.str("namespace"), a.str("metricName"), a.str("statistic"), a.str("treatMissingData"), a.str("comparisonOperator"), a.get("threshold"))
	}
	if acts, _ := a.get("alarmActions").([]any); len(acts) == 0 {
		t.Error("sli-missing notifies no one")
	}
}

// The metrics the alarms read are the ones internal/slo writes, and the
// api is told where to write them.
func TestTheAPIReportsTheMetricsTheAlarmsRead(t *testing.T) {
	src, err := os.ReadFile("../../internal/slo/slo.go")
	if err != nil {
		t.Fatal(err)
	}
	written := map[string]bool{}
	line := regexp.MustCompile(`var metricNames = \[\]string\{([^}]*)\}`).FindSubmatch(src)
	if line == nil {
		t.Fatal("internal/slo/slo.go declares no metricNames")
	}
	for _, q := range regexp.MustCompile(`"(\w+)"`).FindAllSubmatch(line[1], -1) {
		written[string(q[1])] = true
	}
	var read []string
	for _, o := range Objectives {
		read = append(read, o.Bad, o.Total, o.Late)
	}
	sort.Strings(read)
	for _, m := range read {
		if m != "" && !written[m] {
			t.Errorf("the alarms read %s, which internal/slo never writes", m)
		}
	}
	inv := mustDeploy(t)
	for _, d := range containers(t, inv.one("aws:ecs/taskDefinition:TaskDefinition", "api")) {
		if got := envOf(d)["SLI_EMF_NAMESPACE"]; got != "LoanDesk/loandesk" {
			t.Errorf("api container %s: SLI_EMF_NAMESPACE=%q, want LoanDesk/loandesk", d.Name, got)
		}
	}
}
