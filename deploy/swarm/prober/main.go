// Command prober requests a URL at a fixed rate on fresh connections and
// records every outcome, to prove a rolling update drops nothing. It stops on
// its own after -max, or as soon as the -stop file exists. It tallies every
// request under the phase the -phases file named when it was sent, prints one
// line per phase, and exits 1 when a rule breaks: more than -max-failed
// failures in a phase, a release answering where -allow does not let it, fewer
// than -min-requests in all.
//
// Output (-out): one CSV line per request: unix_ms,status,release,error,phase.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/loandesk/loandesk/deploy/swarm/phase"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "prober:", err)
		os.Exit(1)
	}
}

func run() error {
	url := flag.String("url", "http://127.0.0.1:80/", "URL to request")
	rate := flag.Int("rate", 100, "requests per second")
	maxDur := flag.Duration("max", 5*time.Minute, "stop after this long in any case")
	stop := flag.String("stop", "", "stop when this file exists")
	out := flag.String("out", "probe.csv", "CSV of every request")
	phases := flag.String("phases", "", "file naming the rehearsal's current phase")
	rules := phase.Rules{Allow: phase.AllowFlag{}}
	flag.IntVar(&rules.MaxFailed, "max-failed", 0, "failed requests allowed in each phase")
	flag.IntVar(&rules.MinRequests, "min-requests", 1, "requests needed in all")
	flag.Var(phase.AllowFlag(rules.Allow), "allow", "PHASE=REL1|REL2: the only releases that may answer in PHASE (repeatable)")
	flag.Parse()
	if *rate < 1 || *rate > 1000 {
		return fmt.Errorf("-rate must be 1 to 1000")
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	defer w.Flush()

	ctx, cancel := context.WithTimeout(context.Background(), *maxDur)
	defer cancel()
	ctx, stopSig := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stopSig()

	// A new connection per request, so each one is routed afresh.
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	tracker := phase.NewTracker(*phases)
	var tally phase.Tally
	record := func(start time.Time, name string, begin time.Time, status int, release, errText string) {
		tally.Add(name, begin, start, release, errText == "" && status == http.StatusOK)
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(w, "%d,%d,%s,%s,%s\n", start.UnixMilli(), status, release, strings.ReplaceAll(errText, ",", ";"), name)
	}
	tick := time.NewTicker(time.Second / time.Duration(*rate))
	defer tick.Stop()
	check := time.NewTicker(100 * time.Millisecond)
	defer check.Stop()
	fmt.Fprintf(os.Stderr, "prober: %d req/s to %s\n", *rate, *url)
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-check.C:
			tracker.Poll()
			if *stop != "" {
				if _, err := os.Stat(*stop); err == nil {
					break loop
				}
			}
		case <-tick.C:
			wg.Add(1)
			tracker.Poll() // the phase as it is when this request leaves
			name, begin := tracker.Current()
			go func(start time.Time) {
				defer wg.Done()
				resp, err := client.Get(*url)
				if err != nil {
					record(start, name, begin, 0, "", err.Error())
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				record(start, name, begin, resp.StatusCode, resp.Header.Get("X-Release"), "")
			}(time.Now())
		}
	}
	wg.Wait()
	tally.Report(os.Stdout, "prober")
	if problems := tally.Check(rules); len(problems) > 0 {
		return fmt.Errorf("the rehearsal broke its rules:\n  %s", strings.Join(problems, "\n  "))
	}
	fmt.Println("prober: ok")
	return nil
}
