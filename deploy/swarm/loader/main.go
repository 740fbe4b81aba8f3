// Command loader keeps LoanDesk busy through a rehearsal (make test-swarm):
// new filings at a fixed rate from a client that retries with the same
// Idempotency-Key as the SPA does (growing, jittered waits; the server's
// Retry-After), and page loads. Every attempt goes on a fresh connection, so
// each is routed afresh; at most -conns are in flight at once (the loader is
// one address to the load balancer's per-client limits, but stands for many
// applicants). An attempt's 15 s start when it is sent, not while it waits
// for a slot: an applicant's browser waits for no other applicant, and a
// shared queue whose wait counted against every attempt would turn a slow
// second into a lasting outage of the loader's own making (every attempt
// timing out in the queue, retried into the same queue). When the -stop file appears it stops, then checks
// that every filing was kept and decided. It tallies every attempt under the
// phase the -phases file named when it was sent, prints one line per phase,
// and exits 1 when a filing was lost or never decided, when a phase had more
// than -max-failed failed attempts (or its own -max-failed-in), or when there
// were fewer than -min-filings filings.
//
// Output (-out): one CSV line per attempt: unix_ms,kind,status,error,phase.
// The last line on stdout: filings=N lost=N undecided=N attempts=N failed=N pages=N.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/loandesk/loandesk/deploy/swarm/phase"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "loader:", err)
		os.Exit(1)
	}
}

type recorder struct {
	mu              sync.Mutex
	w               *bufio.Writer
	attempts, fails int
	pages           int
	phases          *phase.Tracker
	tally           phase.Tally
	failed          map[string]map[string]int // phase → answer → failed attempts
}

// sent is one attempt's start, and the phase it was sent in.
type sent struct {
	at         time.Time
	phase      string
	phaseBegin time.Time
}

func (r *recorder) send() sent {
	name, begin := r.phases.Current()
	return sent{time.Now(), name, begin}
}

// note records one attempt; any answer but the expected one is a failure.
func (r *recorder) note(s sent, kind string, status int, err error, ok bool) {
	s.phase, s.phaseBegin = r.phases.Blame(s.phase, s.phaseBegin, ok)
	r.tally.Add(s.phase, s.phaseBegin, s.at, "", ok)
	if kind == "file" {
		r.tally.Key(s.phase, s.at, ok) // pages from the edge succeed through a database outage
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts++
	if kind == "page" {
		r.pages++
	}
	msg := ""
	if err != nil {
		msg = strings.ReplaceAll(err.Error(), ",", ";")
	}
	if !ok {
		r.fails++
		answer := strconv.Itoa(status)
		if status != 0 && err != nil {
			answer += " (" + err.Error() + ")"
		} else if err != nil {
			// A timeout, a refused or dropped connection: which one, by
			// the error's last words (the URL and addresses before them
			// vary).
			answer = "no answer"
			if i := strings.LastIndex(err.Error(), ": "); i >= 0 {
				answer += " (" + err.Error()[i+2:] + ")"
			}
		}
		if r.failed[s.phase] == nil {
			r.failed[s.phase] = map[string]int{}
		}
		r.failed[s.phase][kind+" "+answer]++
	}
	fmt.Fprintf(r.w, "%d,%s,%d,%s,%s\n", s.at.UnixMilli(), kind, status, msg, s.phase)
}

func run() error {
	base := flag.String("url", "http://127.0.0.1:8080", "the load balancer")
	rate := flag.Int("rate", 10, "new filings per second")
	pages := flag.Int("pages", 10, "page loads per second")
	stop := flag.String("stop", "", "stop when this file exists")
	maxDur := flag.Duration("max", 15*time.Minute, "stop after this long in any case")
	giveUp := flag.Duration("give-up", 30*time.Second, "how long a filing is retried before it counts as lost")
	decide := flag.Duration("decide", 2*time.Minute, "how long to wait for every filing to be decided")
	out := flag.String("out", "load.csv", "CSV of every attempt")
	phases := flag.String("phases", "", "file naming the rehearsal's current phase")
	maxFailed := flag.Int("max-failed", 0, "failed attempts allowed in each phase")
	maxFailedIn := phase.CountFlag{}
	flag.Var(maxFailedIn, "max-failed-in", "PHASE=N: failed attempts allowed in that phase instead (a failover's refusals, retried; repeat)")
	minFilings := flag.Int("min-filings", 100, "filings needed: a verdict on too little load proves nothing")
	conns := flag.Int("conns", 64, "connections open at once at most (web answers one client's 129th request in flight 429)")
	flag.Parse()

	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	defer f.Close()
	rec := &recorder{w: bufio.NewWriter(f), phases: phase.NewTracker(*phases), failed: map[string]map[string]int{}}
	defer rec.w.Flush()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	slots := make(chan struct{}, max(*conns, 1))
	ctx, cancel := context.WithTimeout(context.Background(), *maxDur)
	defer cancel()
	// do sends one attempt once a slot is free, within 15 s of sending it,
	// and reads its answer (at most 64 KiB).
	do := func(method, url string, body []byte, header map[string]string) (sent, int, http.Header, []byte, error) {
		slots <- struct{}{}
		defer func() { <-slots }()
		start := rec.send()
		actx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(actx, method, url, bytes.NewReader(body))
		if err != nil {
			return start, 0, nil, nil, err
		}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			return start, 0, nil, nil, err
		}
		defer resp.Body.Close()
		payload, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if err != nil {
			return start, 0, nil, nil, err
		}
		return start, resp.StatusCode, resp.Header, payload, nil
	}

	run := time.Now().UnixNano()
	var (
		mu    sync.Mutex
		codes = map[string]string{} // idempotency key → tracking code ("" while none)
		wg    sync.WaitGroup
	)
	file := func(n int) {
		defer wg.Done()
		key := fmt.Sprintf("swarm-%d-%06d", run, n)
		suffix := []string{"950", "950", "950", "120"}[n%4] // approved, or rejected by score
		body, _ := json.Marshal(map[string]any{
			"full_name": fmt.Sprintf("Carga Swarm %d", n), "email": fmt.Sprintf("carga%d@example.com", n),
			"document_number": fmt.Sprintf("30%03d%s", n%1000, suffix), "gender": "F", "amount": 150000,
		})
		mu.Lock()
		codes[key] = ""
		mu.Unlock()
		deadline := time.Now().Add(*giveUp)
		// The SPA's policy (web/src/api/retry.ts): 1 s doubling to 8 s, each
		// wait between half and all of it. Without the jitter a failover's
		// refusals come back together; without the growth they come back as
		// fast as a starved machine refuses them.
		for ceiling := time.Second; time.Now().Before(deadline); ceiling = min(2*ceiling, 8*time.Second) {
			wait := ceiling/2 + rand.N(ceiling/2)
			start, status, header, payload, err := do(http.MethodPost, *base+"/api/v1/requests", body,
				map[string]string{"Content-Type": "application/json", "Idempotency-Key": key})
			if err == nil {
				var receipt struct {
					Code string `json:"tracking_code"`
				}
				_ = json.Unmarshal(payload, &receipt)
				ok := status == http.StatusCreated || status == http.StatusOK
				var problem struct {
					Detail string `json:"detail"`
				}
				if !ok && json.Unmarshal(payload, &problem) == nil && problem.Detail != "" {
					// Why, in the server's words: two 503s may have
					// nothing else in common.
					err = errors.New(problem.Detail)
				}
				rec.note(start, "file", status, err, ok)
				if ok && receipt.Code != "" {
					mu.Lock()
					codes[key] = receipt.Code
					mu.Unlock()
					return
				}
				// As the SPA does: a 429 or 503 says when to come back. A
				// client that retries sooner only adds to the outage.
				if s, err := strconv.Atoi(header.Get("Retry-After")); err == nil && s > 0 {
					wait = max(wait, min(time.Duration(s)*time.Second, 10*time.Second))
				}
			} else {
				rec.note(start, "file", 0, err, false)
			}
			time.Sleep(wait) // the same key again: one filing, however many arrive
		}
	}
	page := func() {
		defer wg.Done()
		start, status, _, _, err := do(http.MethodGet, *base+"/", nil, nil)
		if err != nil {
			rec.note(start, "page", 0, err, false)
			return
		}
		rec.note(start, "page", status, nil, status == http.StatusOK)
	}

	fileTick := time.NewTicker(time.Second / time.Duration(max(*rate, 1)))
	pageTick := time.NewTicker(time.Second / time.Duration(max(*pages, 1)))
	check := time.NewTicker(100 * time.Millisecond)
	defer fileTick.Stop()
	defer pageTick.Stop()
	defer check.Stop()
	n := 0
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-check.C:
			rec.phases.Poll()
			if _, err := os.Stat(*stop); *stop != "" && err == nil {
				break loop
			}
		case <-fileTick.C:
			n++
			wg.Add(1)
			go file(n)
		case <-pageTick.C:
			wg.Add(1)
			go page()
		}
	}
	wg.Wait()
	rec.w.Flush()

	// Every filing kept: its code answers; and decided (the worker finishes
	// what the providers could not answer in time).
	lost, undecided := 0, 0
	pending := map[string]bool{}
	for _, code := range codes {
		if code == "" {
			lost++
		} else {
			pending[code] = true
		}
	}
	until := time.Now().Add(*decide)
	for len(pending) > 0 && time.Now().Before(until) {
		for code := range pending {
			_, status, _, payload, err := do(http.MethodGet, *base+"/api/v1/requests/"+code, nil, nil)
			if err != nil {
				continue
			}
			var r struct {
				Status string `json:"status"`
			}
			_ = json.Unmarshal(payload, &r)
			if status == http.StatusOK && r.Status != "in_review" {
				delete(pending, code)
			}
		}
		if len(pending) > 0 {
			time.Sleep(time.Second)
		}
	}
	undecided = len(pending)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.tally.Report(os.Stdout, "loader")
	for _, st := range rec.tally.Phases() { // what the failed attempts were answered, phase by phase
		if answers := rec.failed[st.Name]; len(answers) > 0 {
			parts := []string{}
			for a, n := range answers {
				parts = append(parts, fmt.Sprintf("%s ×%d", a, n))
			}
			sort.Strings(parts)
			fmt.Printf("loader: phase %s failed with: %s\n", st.Name, strings.Join(parts, ", "))
		}
	}
	problems := rec.tally.Check(phase.Rules{MaxFailed: *maxFailed, MaxFailedIn: maxFailedIn})
	if lost > 0 {
		problems = append(problems, fmt.Sprintf("%d filings lost: no attempt in %s got a tracking code", lost, *giveUp))
	}
	if undecided > 0 {
		problems = append(problems, fmt.Sprintf("%d filings still in review %s after the load stopped", undecided, *decide))
	}
	if len(codes) < *minFilings {
		problems = append(problems, fmt.Sprintf("%d filings (at least %d)", len(codes), *minFilings))
	}
	fmt.Printf("filings=%d lost=%d undecided=%d attempts=%d failed=%d pages=%d\n", len(codes), lost, undecided, rec.attempts, rec.fails, rec.pages)
	if len(problems) > 0 {
		return fmt.Errorf("the rehearsal broke its rules:\n  %s", strings.Join(problems, "\n  "))
	}
	return nil
}
