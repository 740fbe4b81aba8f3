package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	rnd "math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

type suite struct {
	cfg    config
	docker *engine
	db     *pgxpool.Pool
	http   *http.Client
	filer  *http.Client // the filings' client: at most filerConns connections
	run    string       // this run's id, in every Idempotency-Key

	mu       sync.Mutex
	failures []string
	usedSet  usedValues  // the personal data the run sent, for the scan
	filed    []person    // every applicant, for the admin's searches
	statuses map[int]int // every HTTP answer a filing got (0: no answer)
	noAnswer []string    // the first few errors behind a 0
}

// filerConns bounds the filings' connections: the load stands for many
// applicants but leaves from one address, and web refuses that address's
// 65th connection at connect (WEB_CONNECTIONS_PER_CLIENT, 64; the login flood
// proves it). More filings in flight wait in the client, as a browser's
// would, instead of reading as dropped connections.
const filerConns = 48

func (s *suite) open(ctx context.Context) error {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	s.run = hex.EncodeToString(b)
	s.http = &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 200}}
	s.filer = &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: filerConns, MaxConnsPerHost: filerConns}}
	if s.cfg.web == "" {
		// The attacker's address: web on the edge network (the honest
		// client uses another network, so another address).
		web, err := s.docker.one(ctx, "web")
		if err != nil {
			return err
		}
		s.cfg.web = "http://" + web.IPs[s.cfg.project+"_edge"] + ":8080"
	}
	var err error
	s.db, err = pgxpool.New(ctx, s.cfg.database)
	return err
}

func (s *suite) close() { s.db.Close() }

func (s *suite) section(title string) { fmt.Printf("\n== %s\n", title) }

// check records a claim: printed either way, and failed claims fail the run.
func (s *suite) check(ok bool, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if ok {
		fmt.Println("  ok    " + msg)
		return
	}
	fmt.Println("  FAIL  " + msg)
	s.mu.Lock()
	s.failures = append(s.failures, msg)
	s.mu.Unlock()
}

func (s *suite) fatal(err error) { s.check(false, "%v", err) }

// person is one applicant: unique DNI, email and surname, so the logs
// and spans can be searched for them afterwards.
type person struct {
	DocumentNumber, Email, FullName string
}

var seq atomic.Int64

// applicant makes a new applicant whose 8-digit DNI decides the outcome by
// the stand-ins' rules: starting with 99, an identity mismatch; ending in
// 950, approved; in 120, rejected by score.
func (s *suite) applicant(mismatch bool, suffix string) (person, []byte) {
	n := seq.Add(1)
	prefix := 40 + n/1000%50
	if mismatch {
		prefix = 99
	}
	p := person{DocumentNumber: fmt.Sprintf("%02d%03d%s", prefix, n%1000, suffix), Email: fmt.Sprintf("c%s%06d@chaos.example", s.run, n),
		FullName: firstNames[n%int64(len(firstNames))] + " " + s.surname(n)}
	s.used("dni", p.DocumentNumber, true)
	s.used("email", p.Email, true)
	s.used("name", p.FullName, true)
	s.mu.Lock()
	s.filed = append(s.filed, p)
	s.mu.Unlock()
	body, _ := json.Marshal(map[string]any{"full_name": p.FullName, "email": p.Email, "document_number": p.DocumentNumber,
		"gender": "F", "amount": 100000})
	return p, body
}

var firstNames = []string{"Lucía", "Martín", "Sofía", "Mateo", "Valentina", "Joaquín", "Camila", "Tomás"}

// surname makes applicant n a surname of its own for this run: four
// syllables from the run's id and n (so no two applicants, nor two runs,
// share one), an accent on some, so spellings such as Zabérunola and its
// percent-encoding are searched for too.
func (s *suite) surname(n int64) string {
	syll := []string{"ba", "ce", "di", "fo", "gu", "la", "me", "ni", "po", "ru", "sa", "te", "vi", "zo", "ká", "ló"}
	seed := int64(0)
	for _, c := range s.run {
		seed = seed*31 + int64(c)
	}
	x := uint64(seed)*1_000_003 + uint64(n)
	var b strings.Builder
	for range 5 {
		b.WriteString(syll[x%uint64(len(syll))])
		x /= uint64(len(syll))
	}
	out := []rune(b.String())
	out[0] = []rune(strings.ToUpper(string(out[0])))[0]
	return string(out)
}

// receipt is the part of the API's answer the suite reads.
type receipt struct {
	TrackingCode string `json:"tracking_code"`
	Status       string `json:"status"`
	Reason       string `json:"reason"`
}

// answer is the outcome of filing one request until it was answered.
type answer struct {
	receipt
	status   int // the final HTTP status (0: never answered)
	attempts int
	replays  int // requests sent again after the answer, as a client that missed it
	took     time.Duration
	replayed bool
	detail   string
}

// file sends one filing until it is answered, as a careful client would:
// the same key and body on every attempt; a network error, 429, 502, 503 or
// 504 is retried after the server's Retry-After or a growing, jittered wait;
// anything else is the answer.
func (s *suite) file(ctx context.Context, key string, body []byte, giveUp time.Duration) answer {
	start := time.Now()
	var a answer
	for a.attempts = 1; ; a.attempts++ {
		req, _ := http.NewRequestWithContext(ctx, "POST", s.cfg.web+"/api/v1/requests", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", key)
		resp, err := s.filer.Do(req)
		s.saw(resp, err)
		wait := time.Duration(0)
		if err == nil {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
			resp.Body.Close()
			switch resp.StatusCode {
			case 429, 502, 503, 504:
				if secs, _ := strconv.Atoi(resp.Header.Get("Retry-After")); secs > 0 {
					wait = time.Duration(min(secs, 5)) * time.Second
				}
			default:
				a.status, a.took = resp.StatusCode, time.Since(start)
				a.replayed = resp.Header.Get("Idempotent-Replayed") == "true"
				if err := json.Unmarshal(b, &a.receipt); err != nil || resp.StatusCode != 201 {
					a.detail = strings.TrimSpace(string(b))
				}
				return a
			}
		}
		if time.Since(start) > giveUp || ctx.Err() != nil {
			a.took, a.detail = time.Since(start), fmt.Sprintf("no answer after %d attempts (last: %v)", a.attempts, err)
			return a
		}
		if wait == 0 {
			ceiling := min(100*time.Millisecond<<min(a.attempts-1, 5), 3*time.Second)
			wait = ceiling/2 + rnd.N(ceiling/2)
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
}

func (s *suite) saw(resp *http.Response, err error) {
	code := 0
	if err == nil {
		code = resp.StatusCode
	}
	s.mu.Lock()
	if s.statuses == nil {
		s.statuses = map[int]int{}
	}
	s.statuses[code]++
	if err != nil && len(s.noAnswer) < 5 {
		s.noAnswer = append(s.noAnswer, err.Error())
	}
	s.mu.Unlock()
}

// apiURL is the address of one api replica on the edge network, to read its
// metrics or to speak as the proxy in front would.
func (s *suite) apiURL(c container) string {
	return "http://" + c.IPs[s.cfg.project+"_edge"] + ":8000"
}

// setFault changes a provider stand-in's injected faults (FAULT_CONTROL).
func (s *suite) setFault(ctx context.Context, base, body string) error {
	req, _ := http.NewRequestWithContext(ctx, "PUT", base+"/_fault", strings.NewReader(body))
	resp, err := s.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("PUT %s/_fault: %d %s", base, resp.StatusCode, b)
	}
	return nil
}

// metric reads one sample's value from a Prometheus text page.
func metric(page []byte, sample string) (float64, bool) {
	for _, line := range strings.Split(string(page), "\n") {
		if v, ok := strings.CutPrefix(line, sample+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f, err == nil
		}
	}
	return 0, false
}

func (s *suite) get(ctx context.Context, url string) ([]byte, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	resp, err := s.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

// percentile of sorted durations, p in [0, 100].
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64) + " ms"
}

func mib(b uint64) string { return strconv.FormatFloat(float64(b)/(1<<20), 'f', 1, 64) + " MiB" }

func sortedDurations(ds []time.Duration) []time.Duration {
	out := slices.Clone(ds)
	slices.Sort(out)
	return out
}
