package main

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// loginFlood sends 200 concurrent wrong logins for the admin through web,
// from one address, while it samples the api replicas' memory. web lets the
// first 20 through (its login limit's burst) and the api counts every
// attempt before its password is hashed, so the limit holds at once: 5
// reach a password check and the rest get 429, the api stays far from its
// memory limit, and the real admin still logs in from another address.
func (s *suite) loginFlood(ctx context.Context) {
	apis, err := s.docker.containers(ctx, "api")
	if err != nil || len(apis) == 0 {
		s.fatal(fmt.Errorf("api replicas: %v", err))
		return
	}
	before := map[string]uint64{}
	for _, c := range apis {
		before[c.ID], _ = s.docker.memory(ctx, c.ID)
	}
	peak := map[string]uint64{}
	stop := make(chan struct{})
	var sampling sync.WaitGroup
	sampling.Add(1)
	go func() {
		defer sampling.Done()
		for {
			for _, c := range apis {
				if m, err := s.docker.memory(ctx, c.ID); err == nil && m > peak[c.ID] {
					peak[c.ID] = m
				}
			}
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()

	const n = 200
	statuses := make(chan int, n)
	var wg sync.WaitGroup
	gate := make(chan struct{})
	body := fmt.Sprintf(`{"email":%q,"password":"not-the-password"}`, s.cfg.admin)
	start := time.Now()
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			req, _ := http.NewRequestWithContext(ctx, "POST", s.cfg.web+"/api/v1/admin/session", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			resp, err := s.http.Do(req)
			if err != nil {
				statuses <- 0
				return
			}
			resp.Body.Close()
			statuses <- resp.StatusCode
		}()
	}
	close(gate)
	wg.Wait()
	took := time.Since(start)
	time.Sleep(500 * time.Millisecond) // let the last hashes' memory show
	close(stop)
	sampling.Wait()
	close(statuses)
	count := map[int]int{}
	for st := range statuses {
		count[st]++
	}
	fmt.Printf("  %d wrong logins in %s: %v (status: count)\n", n, ms(took), count)
	s.check(count[401] <= 5 && count[401]+count[429]+count[0] == n,
		"at most 5 attempts reached a password check (%d × 401), every other one was refused: %d × 429, %d at connect (past 64 connections from one address), nothing else",
		count[401], count[429], count[0])

	// The real admin, from another address (web on the honest network).
	web, err := s.docker.one(ctx, "web")
	if err != nil {
		s.fatal(err)
		return
	}
	admin := &honestClient{s: s, base: "http://" + web.IPs[s.cfg.project+"_honest"] + ":8080"}
	code := admin.login(ctx)
	s.check(code == 200, "the real admin logs in from another address during the flood (status %d)", code)

	gomemlimit := regexp.MustCompile(`"gomemlimit_bytes":([0-9]+)`)
	for _, c := range apis {
		st, err := s.docker.state(ctx, c.ID)
		s.check(err == nil && st.RestartCount == 0 && !st.OOMKilled && st.Running,
			"%s was never restarted nor OOM-killed (restarts %d, OOM %v, err %v)", c.Name, st.RestartCount, st.OOMKilled, err)
		fmt.Printf("  %s memory: %s before, peak %s during the flood (container limit %s)\n", c.Name, mib(before[c.ID]),
			mib(peak[c.ID]), mib(uint64(st.MemoryLimit)))
		logs, _ := s.docker.logs(ctx, c.ID)
		m := gomemlimit.FindSubmatch(logs)
		var set int64
		if m != nil {
			set, _ = strconv.ParseInt(string(m[1]), 10, 64)
		}
		want := st.MemoryLimit * 8 / 10
		s.check(st.MemoryLimit > 0 && set > 0 && abs(set-want) <= want/100,
			"%s set GOMEMLIMIT to 80 %% of its container's limit (%s of %s)", c.Name, mib(uint64(set)), mib(uint64(st.MemoryLimit)))
	}
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

// breakerAbuse files 20 requests whose identity does not match while
// scoring answers in 300 ms (normal for a third party). Identity's "no"
// decides each one and cancels the scoring call; those cancellations must
// not count against scoring's circuit breaker, or anyone could switch off
// instant decisions for everyone. The next honest filing is decided at once.
func (s *suite) breakerAbuse(ctx context.Context) {
	scoring, err := s.docker.one(ctx, "scoring")
	if err != nil {
		s.fatal(err)
		return
	}
	scoringURL := "http://" + scoring.IPs[s.cfg.project+"_external"] + ":7001"
	if err := s.setFault(ctx, scoringURL, `{"latency":"300ms"}`); err != nil {
		s.fatal(err)
		return
	}
	defer func() {
		if err := s.setFault(context.WithoutCancel(ctx), scoringURL, `{"latency":"0s"}`); err != nil {
			s.fatal(err)
		}
	}()
	rejected := 0
	for i := range 20 {
		_, body := s.applicant(true, "950")
		a := s.file(ctx, fmt.Sprintf("abuse-%s-%02d", s.run, i), body, 30*time.Second)
		if a.status == 201 && a.Status == "rejected" && a.Reason == "identity" {
			rejected++
		}
	}
	s.check(rejected == 20, "20 identity mismatches were rejected at once (%d)", rejected)
	_, body := s.applicant(false, "950")
	a := s.file(ctx, "abuse-"+s.run+"-honest", body, 30*time.Second)
	s.check(a.status == 201 && a.Status == "approved", "the next honest filing is decided at once: %s in %s (status %d)", a.Status, ms(a.took), a.status)
	apis, _ := s.docker.containers(ctx, "api")
	for _, c := range apis {
		page, err := s.get(ctx, s.apiURL(c)+"/metrics")
		v, ok := metric(page, `loandesk_circuit_breaker_state{service="scoring"}`)
		s.check(err == nil && ok && v == 0, "%s: the scoring breaker stayed closed (state %v, err %v)", c.Name, v, err)
	}
}
