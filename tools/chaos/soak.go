package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// The soak's bounds: what it asserts, printed with what it measured.
type soakLimits struct {
	junk, concurrency, slowloris, logins int
	apiMemory, metricsSize, valkeyMemory uint64
	honestP99                            time.Duration
	honestShare                          float64
}

// soak sends what nobody listed — junk of every shape, slowloris, a flood
// of logins with random emails — from one address (the attacker's network),
// through web and, as on AWS where no nginx stands in front, straight to
// the api; meanwhile an honest client on another address files, tracks,
// loads the SPA, and an admin logs in and searches by DNI, email and name.
// Then the limits' Valkey is filled to its maxmemory and every limit is
// tried again. It asserts that no container restarted, memory, metrics and
// Valkey stayed under their ceilings, the honest traffic was served, and no
// limit failed open.
func (s *suite) soak(ctx context.Context, lim soakLimits) {
	web, err := s.docker.one(ctx, "web")
	if err != nil {
		s.fatal(err)
		return
	}
	apis, err := s.docker.containers(ctx, "api")
	if err != nil || len(apis) == 0 {
		s.fatal(fmt.Errorf("api replicas: %v", err))
		return
	}
	attacker := web.IPs[s.cfg.project+"_edge"] + ":8080"
	honestBase := "http://" + web.IPs[s.cfg.project+"_honest"] + ":8080"
	fmt.Printf("  attacker → %s (and each api replica directly); honest client → %s\n", attacker, honestBase)

	samples := s.sample(ctx, apis)
	honest := &honestClient{s: s, base: honestBase}
	honestCtx, stopHonest := context.WithCancel(ctx)
	var honestDone sync.WaitGroup
	honestDone.Add(1)
	go func() { defer honestDone.Done(); honest.run(honestCtx) }()

	start := time.Now()
	var attack sync.WaitGroup
	junkStatus := newCounter()
	var notProblem []string
	attack.Add(1)
	go func() {
		defer attack.Done()
		notProblem = s.sendJunk(ctx, attacker, lim.junk, lim.concurrency, junkStatus)
	}()
	loginStatus := newCounter()
	attack.Add(2)
	go func() { defer attack.Done(); s.floodLogins(ctx, "http://"+attacker, lim.logins/2, loginStatus) }()
	go func() {
		defer attack.Done()
		// Straight to the api: it must hold every bound by itself.
		for i, a := range apis {
			s.floodLogins(ctx, s.apiURL(a), lim.logins/2/len(apis)+boolInt(i == 0)*(lim.logins/2%len(apis)), loginStatus)
		}
	}()
	// Slowloris once the flood is under way: connections that never finish
	// their headers, trickling a byte a second.
	time.Sleep(5 * time.Second)
	slow := s.slowloris(ctx, attacker, lim.slowloris, 20*time.Second)
	attack.Wait()
	took := time.Since(start)
	stopHonest()
	honestDone.Wait()
	peaks := samples.stop()

	fmt.Printf("  junk: %d requests in %s (%.0f/s), answers (status: count, 0 = closed or refused): %v\n",
		junkStatus.total(), took.Round(time.Second), float64(junkStatus.total())/took.Seconds(), junkStatus.snapshot())
	fmt.Printf("  logins with random emails: %d, answers: %v\n", loginStatus.total(), loginStatus.snapshot())
	fmt.Printf("  slowloris: %d connections tried, at most %d open at once, %d closed by the server (headers not in within its timeout, or refused at once)\n",
		slow.tried, slow.maxOpen, slow.closed)
	s.check(junkStatus.total() >= lim.junk, "%d junk requests sent (want ≥ %d)", junkStatus.total(), lim.junk)
	s.check(loginStatus.total() >= lim.logins, "%d logins with random emails sent (want ≥ %d)", loginStatus.total(), lim.logins)
	s.check(slow.maxOpen <= 64, "one address held at most %d half-sent connections at once (WEB_CONNECTIONS_PER_CLIENT 64)", slow.maxOpen)
	bad := 0
	for code, n := range junkStatus.snapshot() {
		// 501 and 505: a transfer encoding or an HTTP version nobody speaks.
		if code >= 500 && code != 501 && code != 502 && code != 503 && code != 504 && code != 505 {
			bad += n
		}
	}
	s.check(bad == 0, "no junk request made a server error (a 5xx but 501/505, which refuse what the client asked, and 502/503/504): %d did", bad)
	s.check(len(notProblem) == 0, "every error answered on /api/ was problem+json, whoever answered it %v", notProblem)

	h := honest.result()
	fmt.Printf("  honest client: %d requests (%v), %d failed; p50 %s, p99 %s, max %s\n", h.n, h.kinds, h.failed,
		ms(h.p50), ms(h.p99), ms(h.max))
	for _, f := range h.failures[:min(5, len(h.failures))] {
		fmt.Println("    failed:", f)
	}
	share := 1 - float64(h.failed)/float64(max(h.n, 1))
	s.check(h.n >= 200 && share >= lim.honestShare, "honest traffic from another address: %.2f %% of %d succeeded (want ≥ %.0f %%)",
		100*share, h.n, 100*lim.honestShare)
	s.check(h.p99 <= lim.honestP99, "honest p99 %s (want ≤ %s)", ms(h.p99), ms(lim.honestP99))
	s.check(honest.adminOK.Load() > 0, "the admin logged in from another address during the flood and searched by DNI, email and name (%d admin requests)", honest.adminOK.Load())

	for _, a := range apis {
		fmt.Printf("  %s: memory peak %s, /metrics peak %s\n", a.Name, mib(peaks.memory[a.ID]), kib(peaks.metrics[a.ID]))
		s.check(peaks.memory[a.ID] > 0 && peaks.memory[a.ID] <= lim.apiMemory, "%s memory peak %s (ceiling %s)", a.Name, mib(peaks.memory[a.ID]), mib(lim.apiMemory))
		s.check(peaks.metrics[a.ID] > 0 && peaks.metrics[a.ID] <= lim.metricsSize, "%s /metrics peak %s (ceiling %s)", a.Name, kib(peaks.metrics[a.ID]), kib(lim.metricsSize))
	}
	fmt.Printf("  web memory peak %s\n", mib(peaks.memory[web.ID]))
	for name, m := range peaks.valkey {
		s.check(m > 0 && m <= lim.valkeyMemory, "%s used_memory peak %s during the soak (ceiling %s)", name, mib(m), mib(lim.valkeyMemory))
	}
	s.noRestarts(ctx)
	s.limitsWhenValkeyIsFull(ctx, apis, honest)
	s.noRestarts(ctx)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// counter counts answers by status, safe for many goroutines.
type counter struct {
	mu sync.Mutex
	m  map[int]int
}

func newCounter() *counter { return &counter{m: map[int]int{}} }
func (c *counter) add(code int) {
	c.mu.Lock()
	c.m[code]++
	c.mu.Unlock()
}
func (c *counter) snapshot() map[int]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[int]int, len(c.m))
	for k, v := range c.m {
		out[k] = v
	}
	return out
}
func (c *counter) total() int {
	n := 0
	for _, v := range c.snapshot() {
		n += v
	}
	return n
}

// sendJunk sends n junk requests over workers connections at once; it
// counts the answers by status, and the errors on /api/ paths that were not
// problem+json.
func (s *suite) sendJunk(ctx context.Context, addr string, n, workers int, status *counter) (notProblem []string) {
	var sent atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			j := junk{rng: rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))}
			for sent.Add(1) <= int64(n) && ctx.Err() == nil {
				req, api := j.request("web")
				code, ct := sendRaw(ctx, addr, req)
				status.add(code)
				if api && code >= 400 && !strings.HasPrefix(ct, "application/problem+json") {
					mu.Lock()
					if len(notProblem) < 5 {
						line, _, _ := strings.Cut(string(req), "\r\n")
						notProblem = append(notProblem, fmt.Sprintf("%d %q for %.120q", code, ct, line))
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return notProblem
}

// floodLogins sends n logins with random emails and passwords to base.
func (s *suite) floodLogins(ctx context.Context, base string, n int, status *counter) {
	client := &http.Client{Timeout: 15 * time.Second}
	var sent atomic.Int64
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			j := junk{rng: rand.New(rand.NewPCG(uint64(w)+100, uint64(time.Now().UnixNano())))}
			for sent.Add(1) <= int64(n) && ctx.Err() == nil {
				email := j.word("abcdefghijklmnopqrstuvwxyz0123456789", 5+j.rng.IntN(40)) + "@junk.example"
				s.used("email", email, sent.Load() <= 200) // a sample of them is searched for in every log and span
				body := fmt.Sprintf(`{"email":%q,"password":%q}`, email, j.word("abcdefghijk", 1+j.rng.IntN(60)))
				req, _ := http.NewRequestWithContext(ctx, "POST", base+"/api/v1/admin/session", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					status.add(0)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				status.add(resp.StatusCode)
			}
		}()
	}
	wg.Wait()
}

type slowResult struct{ tried, maxOpen, closed int }

// slowloris opens n connections that send half a request header and then a
// line a second, for hold. A connection counts as held once the server has
// kept it a second; the result says how many it held at once.
func (s *suite) slowloris(ctx context.Context, addr string, n int, hold time.Duration) slowResult {
	var held, maxHeld, closed atomic.Int64
	var wg sync.WaitGroup
	deadline := time.Now().Add(hold)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.DialTimeout("tcp", addr, 3*time.Second)
			if err != nil {
				closed.Add(1)
				return
			}
			defer c.Close()
			if _, err := c.Write([]byte("GET / HTTP/1.1\r\nHost: web\r\n")); err != nil {
				closed.Add(1)
				return
			}
			counted := false
			defer func() {
				if counted {
					held.Add(-1)
				}
			}()
			var b [512]byte
			for time.Now().Before(deadline) && ctx.Err() == nil {
				// Still open after a second of silence from the server: held.
				// An end of file, a reset or an answer: the server let it go.
				_ = c.SetReadDeadline(time.Now().Add(time.Second))
				_, err := c.Read(b[:])
				var ne net.Error
				if !errors.As(err, &ne) || !ne.Timeout() {
					closed.Add(1)
					return
				}
				if !counted {
					counted = true
					for cur := held.Add(1); ; {
						if m := maxHeld.Load(); cur <= m || maxHeld.CompareAndSwap(m, cur) {
							break
						}
					}
				}
				if _, err := c.Write([]byte("X-a: b\r\n")); err != nil {
					closed.Add(1)
					return
				}
			}
		}()
	}
	wg.Wait()
	return slowResult{tried: n, maxOpen: int(maxHeld.Load()), closed: int(closed.Load())}
}

// peaks is what the samplers saw at most.
type peaks struct {
	memory  map[string]uint64 // container id → bytes
	metrics map[string]uint64 // api container id → bytes of /metrics
	valkey  map[string]uint64 // instance → used_memory
}

type sampler struct {
	stopc chan struct{}
	done  chan peaks
}

func (sm *sampler) stop() peaks { close(sm.stopc); return <-sm.done }

// sample reads, every half second, every container's memory, each api's
// /metrics size and both Valkeys' used_memory, and keeps the peaks.
func (s *suite) sample(ctx context.Context, apis []container) *sampler {
	sm := &sampler{stopc: make(chan struct{}), done: make(chan peaks, 1)}
	valkeys := map[string]*redis.Client{
		"valkey (sessions)":      redis.NewClient(&redis.Options{Addr: "valkey:6379"}),
		"valkey-limits (limits)": redis.NewClient(&redis.Options{Addr: "valkey-limits:6379"}),
	}
	go func() {
		p := peaks{memory: map[string]uint64{}, metrics: map[string]uint64{}, valkey: map[string]uint64{}}
		defer func() {
			for _, c := range valkeys {
				c.Close()
			}
			sm.done <- p
		}()
		for {
			cs, _ := s.docker.containers(ctx, "")
			for _, c := range cs {
				if m, err := s.docker.memory(ctx, c.ID); err == nil && m > p.memory[c.ID] {
					p.memory[c.ID] = m
				}
			}
			for _, a := range apis {
				if b, err := s.get(ctx, s.apiURL(a)+"/metrics"); err == nil && uint64(len(b)) > p.metrics[a.ID] {
					p.metrics[a.ID] = uint64(len(b))
				}
			}
			for name, c := range valkeys {
				if m := usedMemory(ctx, c); m > p.valkey[name] {
					p.valkey[name] = m
				}
			}
			select {
			case <-sm.stopc:
				return
			case <-time.After(500 * time.Millisecond):
			}
		}
	}()
	return sm
}

var usedMemoryRE = regexp.MustCompile(`(?m)^used_memory:(\d+)`)

func usedMemory(ctx context.Context, c *redis.Client) uint64 {
	info, err := c.Info(ctx, "memory").Result()
	if err != nil {
		return 0
	}
	m := usedMemoryRE.FindStringSubmatch(info)
	if m == nil {
		return 0
	}
	n, _ := strconv.ParseUint(m[1], 10, 64)
	return n
}

// noRestarts checks every container of the stack: never restarted, never
// OOM-killed.
func (s *suite) noRestarts(ctx context.Context) {
	cs, err := s.docker.containers(ctx, "")
	if err != nil {
		s.fatal(err)
		return
	}
	var bad []string
	for _, c := range cs {
		if c.Service == "chaos" || c.Service == "hog" {
			continue
		}
		st, err := s.docker.state(ctx, c.ID)
		if err != nil || st.RestartCount > 0 || st.OOMKilled || !st.Running {
			bad = append(bad, fmt.Sprintf("%s (restarts %d, OOM %v, running %v, err %v)", c.Name, st.RestartCount, st.OOMKilled, st.Running, err))
		}
	}
	s.check(len(bad) == 0, "no container of the %d restarted or was OOM-killed %v", len(cs), bad)
}

// limitsWhenValkeyIsFull fills the limits' Valkey to its maxmemory and sends
// past every limit again, straight to one api replica from the attacker's
// address: whatever that address has left, no more than a budget may pass
// (each replica counts alone once the store cannot answer), and sessions,
// in their own Valkey, are untouched: the admin still logs in.
func (s *suite) limitsWhenValkeyIsFull(ctx context.Context, apis []container, honest *honestClient) {
	rdb := redis.NewClient(&redis.Options{Addr: "valkey-limits:6379"})
	defer rdb.Close()
	defer rdb.FlushAll(context.WithoutCancel(ctx)) // the fault phase that follows gets an empty store
	value := strings.Repeat("x", 1024)
	keys := 0
	var full error
	for full == nil && keys < 1_000_000 {
		pipe := rdb.Pipeline()
		for range 200 {
			pipe.Set(ctx, fmt.Sprintf("fill:%d", keys), value, time.Hour)
			keys++
		}
		_, full = pipe.Exec(ctx)
	}
	oom := full != nil && strings.Contains(full.Error(), "OOM")
	fmt.Printf("  valkey-limits filled: %d keys written until %v; used_memory %s\n", keys, full, mib(usedMemory(ctx, rdb)))
	s.check(oom, "the limits' Valkey is full: it refuses writes (OOM)")

	api := s.apiURL(apis[0])
	fallbacksBefore := s.metricValue(ctx, api, "loandesk_limiter_fallback_total")
	client := &http.Client{Timeout: 15 * time.Second}
	post := func(path, key string, body []byte) int {
		req, _ := http.NewRequestWithContext(ctx, "POST", api+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	filings := newCounter()
	for i := range 90 {
		_, body := s.applicant(false, "950")
		filings.add(post("/api/v1/requests", fmt.Sprintf("full-%s-%03d", s.run, i), body))
	}
	f := filings.snapshot()
	s.check(f[201] <= 30 && f[429] >= 60, "with Valkey full, 90 filings from one address to one replica: %d × 201, %d × 429 (limit 30 a minute, burst 30): %v",
		f[201], f[429], f)
	logins := newCounter()
	for range 40 {
		logins.add(post("/api/v1/admin/session", "", []byte(`{"email":"`+s.cfg.admin+`","password":"not-the-password"}`)))
	}
	l := logins.snapshot()
	s.check(l[401] <= 20 && l[429] >= 20, "with Valkey full, 40 wrong logins from one address: %d reached a password check (at most 20), %d × 429: %v",
		l[401], l[429], l)
	fallbacks := s.metricValue(ctx, api, "loandesk_limiter_fallback_total") - fallbacksBefore
	s.check(fallbacks >= 130, "the api counted those in-process (%.0f fallbacks)", fallbacks)
	code := honest.login(ctx)
	s.check(code == 200, "sessions live in their own Valkey: the admin still logs in (status %d)", code)
}

func (s *suite) metricValue(ctx context.Context, base, sample string) float64 {
	page, _ := s.get(ctx, base+"/metrics")
	v, _ := metric(page, sample)
	return v
}

func kib(b uint64) string { return strconv.FormatFloat(float64(b)/1024, 'f', 1, 64) + " KiB" }

// honestClient is an applicant and an admin on another address: files a
// request every 3 s (under every per-client limit) and tracks it, loads
// the SPA, and as the admin searches for what was filed by DNI, email and
// name and opens each request.
type honestClient struct {
	s    *suite
	base string

	mu       sync.Mutex
	took     []time.Duration
	kinds    map[string]int
	failures []string
	adminOK  atomic.Int64

	admin    *http.Client
	csrf     string
	nextRead time.Time // under mu: when the admin may look someone up again
}

// adminReadEvery spaces the admin's reads of applicants' data at the api's
// ADMIN_READS_PER_MINUTE (30, one each 2 s) with a margin: an admin who
// reads at a person's pace is never refused, one who does not is (429).
const adminReadEvery = 2100 * time.Millisecond

// readTurn reports whether a look-up (a search and a detail: two reads)
// may start now, and books it.
func (h *honestClient) readTurn() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := time.Now()
	if now.Before(h.nextRead) {
		return false
	}
	h.nextRead = now.Add(2 * adminReadEvery)
	return true
}

type honestResult struct {
	n, failed     int
	p50, p99, max time.Duration
	kinds         map[string]int
	failures      []string
}

func (h *honestClient) result() honestResult {
	h.mu.Lock()
	defer h.mu.Unlock()
	sorted := sortedDurations(h.took)
	failed := len(h.failures)
	return honestResult{n: len(h.took), failed: failed, p50: percentile(sorted, 50), p99: percentile(sorted, 99),
		max: percentile(sorted, 100), kinds: h.kinds, failures: slices.Clone(h.failures)}
}

// do sends one request and records it: ok when the status is want.
func (h *honestClient) do(ctx context.Context, c *http.Client, kind string, req *http.Request, want int) []byte {
	start := time.Now()
	resp, err := c.Do(req)
	var body []byte
	code := 0
	if err == nil {
		body, _ = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		code = resp.StatusCode
	}
	if ctx.Err() != nil {
		return nil // stopped mid-way: not a failure of the stack's
	}
	failure := ""
	if code != want {
		failure = fmt.Sprintf("%s %s: %d (want %d) %v %.200s", req.Method, req.URL.Path, code, want, err, body)
	}
	h.record(kind, time.Since(start), failure)
	if failure != "" {
		return nil
	}
	return body
}

func (h *honestClient) record(kind string, took time.Duration, failure string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.took = append(h.took, took)
	if h.kinds == nil {
		h.kinds = map[string]int{}
	}
	h.kinds[kind]++
	if failure != "" {
		h.failures = append(h.failures, failure)
	}
}

func (h *honestClient) login(ctx context.Context) int {
	jar, _ := cookiejar.New(nil)
	h.admin = &http.Client{Timeout: 15 * time.Second, Jar: jar}
	req, _ := http.NewRequestWithContext(ctx, "POST", h.base+"/api/v1/admin/session",
		strings.NewReader(fmt.Sprintf(`{"email":%q,"password":%q}`, h.s.cfg.admin, h.s.cfg.adminPassword)))
	req.Header.Set("Content-Type", "application/json")
	resp, err := h.admin.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	var sess struct {
		CSRFToken string `json:"csrf_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&sess)
	h.csrf = sess.CSRFToken
	h.s.used("token", sess.CSRFToken, true)
	for _, c := range resp.Cookies() {
		h.s.used("token", c.Value, true)
	}
	return resp.StatusCode
}

// lookUp is the admin's search for p, by DNI, email or name (as i picks),
// then the first match's detail.
func (h *honestClient) lookUp(ctx context.Context, p person, i int) bool {
	q := []string{p.DocumentNumber, p.Email, p.FullName}[i%3]
	var list struct {
		Items []struct {
			ID int64 `json:"id"`
		} `json:"items"`
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", h.base+"/api/v1/admin/requests?q="+url.QueryEscape(q), nil)
	if json.Unmarshal(h.do(ctx, h.admin, "admin", req, 200), &list) != nil {
		return false
	}
	if len(list.Items) > 0 {
		req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/api/v1/admin/requests/%d", h.base, list.Items[0].ID), nil)
		h.do(ctx, h.admin, "admin", req, 200)
	}
	return true
}

// searchWhile logs the admin in and looks up someone the suite filed, as
// often as the admins' read limit lets a person (readTurn), until ctx ends: while api replicas die, a proxy's error
// line quoting such a search must not reach a log.
func (h *honestClient) searchWhile(ctx context.Context) {
	h.s.used("email", h.s.cfg.admin, true)
	if h.login(ctx) != 200 {
		return
	}
	for i := 0; ctx.Err() == nil; i++ {
		h.s.mu.Lock()
		var p person
		if n := len(h.s.filed); n > 0 {
			p = h.s.filed[(i*7919)%n]
		}
		h.s.mu.Unlock()
		if p.Email != "" && h.readTurn() && h.lookUp(ctx, p, i) {
			h.adminOK.Add(1)
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (h *honestClient) run(ctx context.Context) {
	page := &http.Client{Timeout: 15 * time.Second}
	get := func(c *http.Client, kind, path string, want int) []byte {
		req, _ := http.NewRequestWithContext(ctx, "GET", h.base+path, nil)
		return h.do(ctx, c, kind, req, want)
	}
	index := get(page, "page", "/", 200)
	asset := "/favicon.svg"
	if m := regexp.MustCompile(`src="(/assets/[^"]+)"`).FindSubmatch(index); m != nil {
		asset = string(m[1])
	}
	h.s.used("email", h.s.cfg.admin, true)
	start := time.Now()
	if code := h.login(ctx); code != 200 {
		h.record("login", time.Since(start), fmt.Sprintf("admin login: %d", code))
	} else {
		h.record("login", time.Since(start), "")
	}

	var filed []person
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		get(page, "page", "/", 200)
		get(page, "asset", asset, 200)
		if n%6 == 0 { // a filing every 3 s, then its tracking page
			p, body := h.s.applicant(false, "950")
			req, _ := http.NewRequestWithContext(ctx, "POST", h.base+"/api/v1/requests", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Idempotency-Key", fmt.Sprintf("honest-%s-%04d", h.s.run, n))
			var rec receipt
			if b := h.do(ctx, page, "filing", req, 201); json.Unmarshal(b, &rec) == nil && rec.TrackingCode != "" {
				get(page, "track", "/api/v1/requests/"+rec.TrackingCode, 200)
				filed = append(filed, p)
			}
		}
		if h.admin != nil && len(filed) > 0 && n%2 == 1 && h.readTurn() { // the admin looks someone up
			if h.lookUp(ctx, filed[n/2%len(filed)], n/2) {
				h.adminOK.Add(1)
			}
		}
	}
}
