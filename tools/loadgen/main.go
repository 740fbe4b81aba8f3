// Command loadgen files loan requests against a running LoanDesk and prints
// latency percentiles. Each request has its own Idempotency-Key, so every one
// is a real create (insert, both provider calls, decision, audit event).
//
//	go run ./tools/loadgen -url http://127.0.0.1:8080 -n 2000 -c 8
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"sync"
	"time"
)

func main() {
	base := flag.String("url", "http://127.0.0.1:8080", "LoanDesk base URL")
	n := flag.Int("n", 2000, "requests in all")
	c := flag.Int("c", 8, "concurrent clients")
	warmup := flag.Int("warmup", 100, "requests before measuring")
	flag.Parse()
	client := &http.Client{Timeout: 10 * time.Second}
	run := fmt.Sprintf("%d", time.Now().UnixNano())
	post := func(i int) (time.Duration, error) {
		body := fmt.Sprintf(`{"full_name":"Carga %d","email":"carga%d@example.com","document_number":"3%07d","gender":"F","amount":150000}`, i, i, 1000000+i%8999000)
		req, _ := http.NewRequest(http.MethodPost, *base+"/api/v1/requests", bytes.NewBufferString(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", fmt.Sprintf("load-%s-%d", run, i))
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		d := time.Since(start)
		if resp.StatusCode != http.StatusCreated {
			return d, fmt.Errorf("status %d", resp.StatusCode)
		}
		return d, nil
	}
	for i := 0; i < *warmup; i++ {
		if _, err := post(-1 - i); err != nil {
			fmt.Fprintln(os.Stderr, "warm-up:", err)
			os.Exit(1)
		}
	}
	var mu sync.Mutex
	var lat []time.Duration
	errs := 0
	next := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	for range *c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				d, err := post(i)
				mu.Lock()
				if err != nil {
					errs++
				} else {
					lat = append(lat, d)
				}
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < *n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	wall := time.Since(start)
	if len(lat) == 0 {
		fmt.Fprintln(os.Stderr, "no successful requests")
		os.Exit(1)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	fmt.Printf("create request: %d ok, %d errors, %d clients, %.0f req/s\n", len(lat), errs, *c, float64(len(lat))/wall.Seconds())
	fmt.Printf("latency: p50 %v  p90 %v  p99 %v  max %v\n", pct(.50).Round(10*time.Microsecond), pct(.90).Round(10*time.Microsecond),
		pct(.99).Round(10*time.Microsecond), lat[len(lat)-1].Round(10*time.Microsecond))
	if errs > 0 {
		os.Exit(1)
	}
}
