package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/loandesk/loandesk/internal/alertsink"
)

// The cause alerts the alerts phase takes the worker and scoring away for,
// and what must reach the webhook: each fires within alertFireBound of the
// faults, and resolves within alertResolveBound of the recovery. The bounds
// are the rules' own delays (a minute's wait, a `for`), Prometheus's scrape
// and evaluation (15 s each), Alertmanager's group_wait (10 s) and
// group_interval (1 m), with room: they fail a broken pipeline, not a slow
// machine.
var causeAlerts = []string{"WorkerDown", "DecisionQueueStuck", "BreakerOpen"}

const (
	alertFireBound    = 6 * time.Minute
	alertResolveBound = 5 * time.Minute
)

// alerts proves the ops profile end to end: Prometheus scrapes the stack,
// its rules fire, Alertmanager posts to the webhook (this process, at
// listen). Every worker and the scoring service are stopped while filings
// keep coming through web; the cause alerts must reach the webhook, then
// resolve once both are back, and the filings taken meanwhile be decided.
func (s *suite) alerts(ctx context.Context, listen, prometheus string) {
	sink := alertsink.New(time.Now())
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		s.fatal(err)
		return
	}
	srv := &http.Server{Handler: sink, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	// Before the faults: Prometheus sees the workers and the api, and
	// none of the cause alerts is pending or firing.
	ready := time.Now()
	for {
		up, errUp := s.promValue(ctx, prometheus, `count(up{job="worker"} == 1) and count(up{job="api"} == 1) and count(nginx_up == 1)`)
		active, errA := s.promActive(ctx, prometheus)
		if errUp == nil && errA == nil && up > 0 && !slices.ContainsFunc(active, func(n string) bool { return slices.Contains(causeAlerts, n) }) {
			break
		}
		if time.Since(ready) > 2*time.Minute {
			s.fatal(fmt.Errorf("Prometheus did not see the stack whole within 2 minutes (up: %v %v; active alerts: %v %v)", up, errUp, active, errA))
			return
		}
		time.Sleep(2 * time.Second)
	}
	fmt.Printf("  Prometheus sees every worker, api and web task (%s)\n", time.Since(ready).Round(time.Second))

	workers, err := s.docker.containers(ctx, "worker")
	if err != nil {
		s.fatal(err)
		return
	}
	scoring, err := s.docker.one(ctx, "scoring")
	if err != nil {
		s.fatal(err)
		return
	}
	faultAt := time.Now()
	for _, c := range append(slices.Clone(workers), scoring) {
		if err := s.docker.stop(ctx, c); err != nil {
			s.fatal(err)
			return
		}
	}
	fmt.Printf("  stopped %d workers and scoring; filing one request a second through web\n", len(workers))

	// Filings keep coming: they are taken (201) and wait in the queue.
	fileCtx, stopFiling := context.WithCancel(ctx)
	var filed, ok atomic.Int64
	var filing sync.WaitGroup
	filing.Go(func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		var wg sync.WaitGroup
		for n := 1; fileCtx.Err() == nil; n++ {
			key := fmt.Sprintf("chaos-%s-alert-%04d", s.run, n)
			_, body := s.applicant(false, "950")
			filed.Add(1)
			wg.Go(func() {
				if a := s.file(fileCtx, key, body, 30*time.Second); a.status == 201 {
					ok.Add(1)
				}
			})
			select {
			case <-fileCtx.Done():
			case <-tick.C:
			}
		}
		wg.Wait()
	})
	defer func() { stopFiling(); filing.Wait() }()

	secs, missing := sink.Wait(ctx, causeAlerts, false, faultAt, alertFireBound)
	alertsink.Report(os.Stdout, causeAlerts, secs, "fired", "fault")
	s.check(len(missing) == 0, "every cause alert (%s) reached the webhook within %s of the fault (missing: %v)", strings.Join(causeAlerts, ", "), alertFireBound, missing)

	recoverAt := time.Now()
	for _, c := range append([]container{scoring}, workers...) {
		if err := s.docker.start(ctx, c); err != nil {
			s.fatal(err)
			return
		}
	}
	secs, missing = sink.Wait(ctx, causeAlerts, true, recoverAt, alertResolveBound)
	alertsink.Report(os.Stdout, causeAlerts, secs, "resolved", "recovery")
	s.check(len(missing) == 0, "every cause alert resolved at the webhook within %s of the recovery (missing: %v)", alertResolveBound, missing)
	posts, bad := sink.Posts()
	var others []string
	for _, n := range sink.Fired() {
		if !slices.Contains(causeAlerts, n) {
			others = append(others, n)
		}
	}
	stopFiling()
	filing.Wait()
	slices.Sort(others)
	// Filings never failed (they were queued): no SLO of availability pages.
	s.check(!slices.ContainsFunc(others, func(n string) bool { return strings.Contains(n, "Availability") }),
		"no availability SLO paged while filings were queued (other alerts posted: %v)", others)
	s.check(bad == 0, "Alertmanager's %d posts were all its webhook payload", posts)
	s.check(ok.Load() == filed.Load() && filed.Load() > 0, "every filing was taken while the worker and scoring were away (%d of %d answered 201)", ok.Load(), filed.Load())

	// And decided once the worker is back.
	deadline := time.Now().Add(2 * time.Minute)
	var undecided int
	for {
		if err := s.db.QueryRow(ctx, `SELECT count(*) FROM loan_requests WHERE idempotency_key LIKE $1 AND status = 'in_review' AND reason = ''`,
			"chaos-"+s.run+"-alert-%").Scan(&undecided); err != nil {
			s.fatal(err)
			return
		}
		if undecided == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	s.check(undecided == 0, "the filings queued meanwhile were decided once the worker was back (%d left)", undecided)
}

// promValue is the value of an instant query that returns one sample (0
// when it returns none).
func (s *suite) promValue(ctx context.Context, base, query string) (float64, error) {
	var r struct {
		Data struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := s.getJSON(ctx, base+"/api/v1/query?query="+url.QueryEscape(query), &r); err != nil {
		return 0, err
	}
	if len(r.Data.Result) == 0 {
		return 0, nil
	}
	var v float64
	_, err := fmt.Sscan(fmt.Sprint(r.Data.Result[0].Value[1]), &v)
	return v, err
}

// promActive names the alerts Prometheus has pending or firing.
func (s *suite) promActive(ctx context.Context, base string) ([]string, error) {
	var r struct {
		Data struct {
			Alerts []struct {
				Labels map[string]string `json:"labels"`
			} `json:"alerts"`
		} `json:"data"`
	}
	if err := s.getJSON(ctx, base+"/api/v1/alerts", &r); err != nil {
		return nil, err
	}
	var names []string
	for _, a := range r.Data.Alerts {
		names = append(names, a.Labels["alertname"])
	}
	return names, nil
}

func (s *suite) getJSON(ctx context.Context, u string, v any) error {
	b, err := s.get(ctx, u)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}
