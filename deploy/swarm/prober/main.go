// Command prober requests a URL at a fixed rate on fresh connections and
// records every outcome, to prove a rolling update drops nothing. It stops on
// its own after -max, or as soon as the -stop file exists.
//
// Output (-out): one CSV line per request: unix_ms,status,release,error.
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
	total, failed := 0, 0
	record := func(ms int64, status int, release, errText string) {
		mu.Lock()
		defer mu.Unlock()
		total++
		if errText != "" || status != http.StatusOK {
			failed++
		}
		fmt.Fprintf(w, "%d,%d,%s,%s\n", ms, status, release, strings.ReplaceAll(errText, ",", ";"))
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
			if *stop != "" {
				if _, err := os.Stat(*stop); err == nil {
					break loop
				}
			}
		case <-tick.C:
			wg.Add(1)
			go func(start time.Time) {
				defer wg.Done()
				resp, err := client.Get(*url)
				if err != nil {
					record(start.UnixMilli(), 0, "", err.Error())
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				record(start.UnixMilli(), resp.StatusCode, resp.Header.Get("X-Release"), "")
			}(time.Now())
		}
	}
	wg.Wait()
	fmt.Fprintf(os.Stderr, "prober: %d requests, %d failed\n", total, failed)
	return nil
}
