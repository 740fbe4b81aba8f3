package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"
)

// fault is one thing that goes wrong during the load, at a share of the
// load's duration, and is put right (if it is not self-healing) at until.
type fault struct {
	at, until float64
	name      string
	start     func(context.Context) error
	end       func(context.Context) error
}

// chaos files new requests at cfg.rate for cfg.duration while the faults
// happen, then checks that every filing was answered and kept, and that
// every request was decided within cfg.drainLimit of the last fault.
func (s *suite) chaos(ctx context.Context) {
	faults, err := s.faults(ctx)
	if err != nil {
		s.fatal(err)
		return
	}
	// An admin searches (by DNI, email, name) throughout: what a dying
	// replica makes a proxy write must not quote a search.
	web, err := s.docker.one(ctx, "web")
	if err != nil {
		s.fatal(err)
		return
	}
	admin := &honestClient{s: s, base: "http://" + web.IPs[s.cfg.project+"_honest"] + ":8080"}
	searchCtx, stopSearching := context.WithCancel(ctx)
	searched := make(chan struct{})
	go func() { defer close(searched); admin.searchWhile(searchCtx) }()
	defer func() {
		stopSearching()
		<-searched
		h := admin.result()
		fmt.Printf("  the admin searched %d times meanwhile (%d requests, %d failed)\n", admin.adminOK.Load(), h.n, h.failed)
	}()

	start := time.Now()
	var lastFaultEnd time.Time
	var faultsDone sync.WaitGroup
	faultsDone.Add(1)
	go func() {
		defer faultsDone.Done()
		lastFaultEnd = s.runFaults(ctx, start, faults)
	}()

	var (
		mu      sync.Mutex
		answers = map[string]answer{}
		wg      sync.WaitGroup
	)
	tick := time.NewTicker(time.Second / time.Duration(s.cfg.rate))
	total := int(s.cfg.duration.Seconds()) * s.cfg.rate
	n := 0
	for n < total && ctx.Err() == nil {
		if n > 0 {
			<-tick.C
		}
		n++
		key := fmt.Sprintf("chaos-%s-%05d", s.run, n)
		suffix := "950"
		if n%4 == 0 {
			suffix = "120"
		}
		_, body := s.applicant(false, suffix)
		replayAfter := n%10 == 0 // a client that retries once more after its answer
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := s.file(ctx, key, body, 150*time.Second)
			if replayAfter && a.status == 201 {
				again := s.file(ctx, key, body, 150*time.Second)
				if again.status != 201 || !again.replayed || again.TrackingCode != a.TrackingCode {
					s.check(false, "%s: a repeat after the answer got %d %q (replayed %v), want the first answer %q", key, again.status,
						again.TrackingCode, again.replayed, a.TrackingCode)
				}
				a.replays = again.attempts
			}
			mu.Lock()
			answers[key] = a
			mu.Unlock()
		}()
	}
	tick.Stop()
	loadEnd := time.Since(start)
	wg.Wait()
	faultsDone.Wait()
	fmt.Printf("  load: %d filings in %s; all answered or given up %s after the start\n", n, loadEnd.Round(time.Second), time.Since(start).Round(time.Second))

	// What the clients saw.
	var took []time.Duration
	attempts, replays, unanswered, bad := 0, 0, 0, 0
	outcome := map[string]int{}
	for key, a := range answers {
		attempts += a.attempts
		replays += a.replays
		took = append(took, a.took)
		switch {
		case a.status == 0:
			unanswered++
			if unanswered <= 5 {
				fmt.Printf("  unanswered %s: %s\n", key, a.detail)
			}
		case a.status != 201:
			bad++
			if bad <= 5 {
				fmt.Printf("  %s answered %d: %s\n", key, a.status, a.detail)
			}
		default:
			outcome[a.Status]++
		}
	}
	sorted := sortedDurations(took)
	fmt.Printf("  HTTP requests %d for %d filings: %d retries until answered, %d repeats after the answer; answers: %v\n",
		attempts+replays, n, attempts-n, replays, outcome)
	fmt.Printf("  time to the answer: p50 %s, p99 %s, max %s\n", ms(percentile(sorted, 50)), ms(percentile(sorted, 99)), ms(percentile(sorted, 100)))
	s.check(unanswered == 0 && bad == 0 && len(answers) == n, "every filing was answered 201 in the end (%d unanswered, %d other answers)", unanswered, bad)
	s.mu.Lock()
	seen := maps.Clone(s.statuses)
	noAnswer := slices.Clone(s.noAnswer)
	s.mu.Unlock()
	fmt.Printf("  every HTTP answer a client got (status: count, 0 = no answer): %v\n", seen)
	for _, e := range noAnswer {
		fmt.Printf("    no answer: %s\n", e)
	}
	// A crashed api replica must not show: web retries the other one.
	s.check(seen[0] == 0 && seen[502] == 0 && seen[504] == 0,
		"no client saw a dropped connection, 502 or 504 (%d, %d, %d): web retried another api replica", seen[0], seen[502], seen[504])

	// What PostgreSQL kept.
	rows, err := s.db.Query(ctx, `SELECT idempotency_key, tracking_code FROM loan_requests WHERE idempotency_key LIKE $1`, "chaos-"+s.run+"-%")
	if err != nil {
		s.fatal(err)
		return
	}
	stored := map[string][]string{}
	for rows.Next() {
		var key, code string
		if err := rows.Scan(&key, &code); err != nil {
			s.fatal(err)
			return
		}
		stored[key] = append(stored[key], code)
	}
	rows.Close()
	missing, twice, differs := 0, 0, 0
	for key, a := range answers {
		if a.status != 201 {
			continue
		}
		codes := stored[key]
		switch {
		case len(codes) == 0:
			missing++
		case len(codes) > 1:
			twice++
		case codes[0] != a.TrackingCode:
			differs++
		}
	}
	s.check(missing == 0 && twice == 0 && differs == 0,
		"every filing answered 201 is in PostgreSQL with the same tracking code, once (%d rows; missing %d, twice %d, other code %d)",
		len(stored), missing, twice, differs)

	// Every request decided soon after the last fault.
	deadline := lastFaultEnd.Add(s.cfg.drainLimit)
	var undecided, peak int
	for {
		err := s.db.QueryRow(ctx, `SELECT count(*) FROM loan_requests WHERE idempotency_key LIKE $1 AND status = 'in_review' AND reason = ''`,
			"chaos-"+s.run+"-%").Scan(&undecided)
		if err != nil {
			s.fatal(err)
			return
		}
		peak = max(peak, undecided)
		if undecided == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	drain := time.Since(lastFaultEnd)
	if drain < 0 {
		drain = 0
	}
	s.check(undecided == 0, "every request was decided within %s of the last fault (%d left; decided %s after it)",
		s.cfg.drainLimit, undecided, drain.Round(100*time.Millisecond))
	jobs := map[string]int{}
	if rows, err := s.db.Query(ctx, `SELECT state::text, count(*) FROM river_job WHERE kind = 'decide' GROUP BY state`); err == nil {
		for rows.Next() {
			var st string
			var c int
			if rows.Scan(&st, &c) == nil {
				jobs[st] = c
			}
		}
		rows.Close()
	}
	fmt.Printf("  decision jobs by state: %v (a job whose worker died after deciding is rescued, then finds nothing to do)\n", jobs)
}

// faults are the schedule, as shares of the load's duration (at 90 s: an
// api replica at 8 s, a worker at 18 s, PostgreSQL at 28 s, the other api
// replica at 35 s, Valkey at 40 s, scoring down from 50 to 65 s, identity at
// 2 s from 58 to 78 s).
func (s *suite) faults(ctx context.Context) ([]fault, error) {
	apis, err := s.docker.containers(ctx, "api")
	if err != nil || len(apis) < 2 {
		return nil, fmt.Errorf("want two api replicas, found %d (err %v)", len(apis), err)
	}
	one := map[string]container{}
	for _, svc := range []string{"worker", "postgres", "valkey", "scoring", "identity"} {
		if one[svc], err = s.docker.one(ctx, svc); err != nil {
			return nil, err
		}
	}
	worker, pg, vk, scoring, identity := one["worker"], one["postgres"], one["valkey"], one["scoring"], one["identity"]
	identityURL := "http://" + identity.IPs[s.cfg.project+"_external"] + ":7002"
	crash := func(c container) func(context.Context) error {
		return func(ctx context.Context) error { return s.docker.crash(ctx, c) }
	}
	return []fault{
		{at: 8.0 / 90, name: "kill -9 " + apis[0].Name, start: crash(apis[0])},
		{at: 18.0 / 90, name: "kill -9 " + worker.Name, start: crash(worker)},
		{at: 28.0 / 90, name: "kill -9 " + pg.Name, start: crash(pg)},
		{at: 35.0 / 90, name: "kill -9 " + apis[1].Name, start: crash(apis[1])},
		{at: 40.0 / 90, name: "kill -9 " + vk.Name, start: crash(vk)},
		{at: 50.0 / 90, until: 65.0 / 90, name: "scoring down (stopped)",
			start: func(ctx context.Context) error { return s.docker.stop(ctx, scoring) },
			end:   func(ctx context.Context) error { return s.docker.start(ctx, scoring) }},
		{at: 58.0 / 90, until: 78.0 / 90, name: "identity slowed to 2 s",
			start: func(ctx context.Context) error { return s.setFault(ctx, identityURL, `{"latency":"2s"}`) },
			end:   func(ctx context.Context) error { return s.setFault(ctx, identityURL, `{"latency":"0s"}`) }},
	}, nil
}

// runFaults plays the schedule and returns when the last fault ended: the
// moment a crashed container is running again, or an outage is put right.
func (s *suite) runFaults(ctx context.Context, start time.Time, faults []fault) time.Time {
	type event struct {
		at   time.Duration
		name string
		do   func(context.Context) error
		c    *fault
	}
	var events []event
	d := float64(s.cfg.duration)
	for i := range faults {
		f := &faults[i]
		events = append(events, event{time.Duration(f.at * d), f.name, f.start, f})
		if f.end != nil {
			events = append(events, event{time.Duration(f.until * d), f.name + ": over", f.end, nil})
		}
	}
	// In time order.
	for i := range events {
		for j := i + 1; j < len(events); j++ {
			if events[j].at < events[i].at {
				events[i], events[j] = events[j], events[i]
			}
		}
	}
	last := start
	var recovering sync.WaitGroup
	var mu sync.Mutex
	for _, e := range events {
		select {
		case <-ctx.Done():
			return time.Now()
		case <-time.After(time.Until(start.Add(e.at))):
		}
		err := e.do(ctx)
		s.check(err == nil, "t=%4.1fs %s (err %v)", time.Since(start).Seconds(), e.name, err)
		now := time.Now()
		if e.c != nil && e.c.end == nil { // a crash: over when the engine has restarted it
			recovering.Add(1)
			go func(name string, crashed time.Time) {
				defer recovering.Done()
				back := s.waitRestarted(ctx, name)
				fmt.Printf("         %s: running again %s after the crash\n", name, back.Sub(crashed).Round(100*time.Millisecond))
				mu.Lock()
				if back.After(last) {
					last = back
				}
				mu.Unlock()
			}(e.name[len("kill -9 "):], now)
			continue
		}
		mu.Lock()
		if now.After(last) {
			last = now
		}
		mu.Unlock()
	}
	recovering.Wait()
	return last
}

// waitRestarted waits until the named container runs again after a crash.
func (s *suite) waitRestarted(ctx context.Context, name string) time.Time {
	time.Sleep(200 * time.Millisecond)
	for ctx.Err() == nil {
		cs, _ := s.docker.containers(ctx, "")
		for _, c := range cs {
			if c.Name == name {
				if st, err := s.docker.state(ctx, c.ID); err == nil && st.Running && st.RestartCount > 0 {
					return time.Now()
				}
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return time.Now()
}
