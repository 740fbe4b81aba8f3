// Command bench measures every path of LoanDesk twice: through the whole
// stack (web → api → PostgreSQL, Valkey, the providers), and with pgbench
// running the exact SQL that path issues, from the same queries the API
// builds (internal/postgres exports them). It seeds the table to each size
// first (tools/seed/seed.sql) and prints one table. `make bench` runs it in
// a container on the stack's networks; see tools/bench.sh.
//
// Benchmarks print numbers; nothing here passes or fails on speed.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/loandesk/loandesk/internal/domain"
	"github.com/loandesk/loandesk/internal/postgres"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type config struct {
	web      string
	sizes    []int64
	clients  int
	duration time.Duration
	warmup   time.Duration
	think    time.Duration
	seed     string
	only     map[string]bool
	admin    struct{ email, password string }
	pg       string // libpq keywords for pgx; pgbench and psql read PG* variables
}

func parseConfig(args []string, getenv func(string) string) (config, error) {
	var c config
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.StringVar(&c.web, "web", "http://web:8080", "LoanDesk's address (the web proxy)")
	sizes := fs.String("rows", "100000,10000000", "table sizes to measure at, comma-separated")
	fs.IntVar(&c.clients, "c", 8, "concurrent clients, for the API and for pgbench alike")
	// 20 s: the admins' p99 is then the 14th slowest of ~1,400 requests,
	// so one pause that holds all 8 admins at once cannot alone decide it.
	fs.DurationVar(&c.duration, "d", 20*time.Second, "measuring time per path and side")
	fs.DurationVar(&c.warmup, "warmup", 2*time.Second, "unmeasured time before each measurement")
	fs.DurationVar(&c.think, "think", 100*time.Millisecond, "each admin's pause between requests, for the latency of the admin paths (0: not measured)")
	fs.StringVar(&c.seed, "seed", "/bench/seed.sql", "the seeding script")
	only := fs.String("only", "", "measure only these paths, comma-separated")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil || n < 1000 {
			return c, fmt.Errorf("-rows: %q is not a size of at least 1000", s)
		}
		c.sizes = append(c.sizes, n)
	}
	c.only = map[string]bool{}
	for _, p := range strings.Split(*only, ",") {
		if p = strings.TrimSpace(p); p != "" {
			c.only[p] = true
		}
	}
	secret := func(name string) (string, error) {
		v := getenv(name + "_FILE")
		if v == "" {
			return "", fmt.Errorf("%s_FILE is not set", name)
		}
		b, err := os.ReadFile(v)
		if err != nil {
			return "", fmt.Errorf("%s_FILE: %w", name, err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	var err error
	if c.admin.password, err = secret("ADMIN_PASSWORD"); err != nil {
		return c, err
	}
	if c.admin.email = getenv("ADMIN_EMAIL"); c.admin.email == "" {
		return c, errors.New("ADMIN_EMAIL is not set")
	}
	pw, err := secret("PGPASSWORD")
	if err != nil {
		return c, err
	}
	// pgbench and psql, started by this process, find the database here.
	os.Setenv("PGPASSWORD", pw)
	for _, k := range []string{"PGHOST", "PGUSER", "PGDATABASE"} {
		if getenv(k) == "" {
			return c, fmt.Errorf("%s is not set", k)
		}
	}
	c.pg = fmt.Sprintf("host=%s user=%s dbname=%s", getenv("PGHOST"), getenv("PGUSER"), getenv("PGDATABASE"))
	return c, nil
}

// result is one side of one path: throughput and latency.
type result struct {
	perSec   float64
	p50, p99 time.Duration
	errors   int
}

type row struct {
	rows      int64
	path      string
	api, sql  result
	admins    *result // with think time; nil for filing
	statement int     // SQL statements per request
}

func run(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	cfg, err := parseConfig(args, getenv)
	if err != nil {
		return err
	}
	client, err := login(ctx, cfg)
	if err != nil {
		return err
	}
	started := time.Now().UTC()
	var rows []row
	for _, size := range cfg.sizes {
		fmt.Fprintf(os.Stderr, "seeding to %d requests…\n", size)
		t0 := time.Now()
		if err := seed(ctx, cfg, size); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "seeded in %v\n", time.Since(t0).Round(time.Second))
		paths, err := plan(ctx, cfg)
		if err != nil {
			return err
		}
		for _, p := range paths {
			if len(cfg.only) > 0 && !cfg.only[p.name] {
				continue
			}
			fmt.Fprintf(os.Stderr, "%d rows, %s: API…", size, p.name)
			api, err := loadAPI(ctx, cfg, client, p, 0)
			if err != nil {
				return fmt.Errorf("%s through the API: %w", p.name, err)
			}
			var admins *result
			if p.name != "filing" && cfg.think > 0 {
				fmt.Fprintf(os.Stderr, " %.0f/s; as admins…", api.perSec)
				r, err := loadAPI(ctx, cfg, client, p, cfg.think)
				if err != nil {
					return fmt.Errorf("%s through the API, as admins: %w", p.name, err)
				}
				admins = &r
				fmt.Fprintf(os.Stderr, " p99 %v; pgbench…", r.p99.Round(100*time.Microsecond))
			} else {
				fmt.Fprintf(os.Stderr, " %.0f/s; pgbench…", api.perSec)
			}
			sql, err := pgbench(ctx, cfg, p)
			if err != nil {
				return fmt.Errorf("%s under pgbench: %w", p.name, err)
			}
			fmt.Fprintf(os.Stderr, " %.0f/s\n", sql.perSec)
			rows = append(rows, row{rows: size, path: p.name, api: api, sql: sql, admins: admins, statement: p.statements})
		}
	}
	printTable(out, cfg, started, rows)
	return nil
}

// login opens an admin session for the admin paths; every client shares it.
func login(ctx context.Context, cfg config) (*http.Client, error) {
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	body := fmt.Sprintf(`{"email":%q,"password":%q}`, cfg.admin.email, cfg.admin.password)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, cfg.web+"/api/v1/admin/session", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("logging in: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return nil, fmt.Errorf("logging in: %s %s", resp.Status, b)
	}
	return client, nil
}

func seed(ctx context.Context, cfg config, size int64) error {
	psql := func(args ...string) error {
		cmd := exec.CommandContext(ctx, "psql", append([]string{"-X", "-q"}, args...)...)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		return cmd.Run()
	}
	if err := psql("-v", "rows="+strconv.FormatInt(size, 10), "-f", cfg.seed); err != nil {
		return fmt.Errorf("seeding: %w", err)
	}
	// Whatever the seed and its VACUUM left dirty is written out now, not
	// while the first path (filing, which waits on fsync) is measured.
	// The time it took is printed (2 s after 10 M rows here).
	t0 := time.Now()
	if err := psql("-c", "CHECKPOINT"); err != nil {
		return fmt.Errorf("checkpoint after seeding: %w", err)
	}
	fmt.Fprintf(os.Stderr, "checkpoint after seeding: %v\n", time.Since(t0).Round(time.Second))
	return nil
}

// path is one thing a user does, as an HTTP request and as the SQL behind
// it. Each has several parameter sets (which search, which page), used in
// turn by the API clients and chosen at random by pgbench.
type path struct {
	name string
	// request makes the i-th HTTP request (filing needs a new key each time).
	request func(ctx context.Context, i int) *http.Request
	want    int // its success status
	// sets are the SQL statements of one request per parameter set.
	sets [][]postgres.Query
	// shared maps an argument ("query index:$n") to a pgbench variable
	// set per transaction by a \set line, for values that must be new
	// each time (a filing's keys) or equal across statements.
	shared     map[string]string
	setLines   []string
	statements int
	// extended plans every statement with its values (pgx's exec mode,
	// as internal/postgres runs the list); else prepared.
	extended bool
}

// plan picks the parameters from the table as it is now, and builds each
// path's requests and statements with the same functions the API uses.
func plan(ctx context.Context, cfg config) ([]path, error) {
	conn, err := pgx.Connect(ctx, cfg.pg)
	if err != nil {
		return nil, fmt.Errorf("connecting to PostgreSQL: %w", err)
	}
	defer conn.Close(ctx)
	r := rand.New(rand.NewPCG(1, 2)) // the same choices every run
	var oldest, newest time.Time
	if err := conn.QueryRow(ctx, `SELECT min(created_at), max(created_at) FROM loan_requests WHERE deleted_at IS NULL`).Scan(&oldest, &newest); err != nil {
		return nil, err
	}
	const sets = 16
	at := func() time.Time { return oldest.Add(time.Duration(r.Float64() * float64(newest.Sub(oldest)))) }
	var cursors []domain.Cursor
	for range sets {
		var c domain.Cursor
		err := conn.QueryRow(ctx, `SELECT created_at, id FROM loan_requests WHERE deleted_at IS NULL AND created_at <= $1
			ORDER BY created_at DESC, id DESC LIMIT 1`, at()).Scan(&c.CreatedAt, &c.ID)
		if err != nil {
			return nil, fmt.Errorf("picking a deep page: %w", err)
		}
		cursors = append(cursors, c)
	}
	// Real rows' emails and document numbers, for the searches by them.
	var emails, docs []string
	rows, err := conn.Query(ctx, `SELECT email, document_number FROM loan_requests TABLESAMPLE SYSTEM (1) REPEATABLE (7) LIMIT $1`, sets)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var e, d string
		if err := rows.Scan(&e, &d); err != nil {
			return nil, err
		}
		emails, docs = append(emails, e), append(docs, d)
	}
	if rows.Err() != nil || len(emails) == 0 {
		return nil, fmt.Errorf("sampling rows: %v (%d found)", rows.Err(), len(emails))
	}

	const limit = 20
	var out []path
	list := func(name string, filters []domain.Filter) {
		p := path{name: name, want: http.StatusOK, statements: 2}
		var qs []url.Values
		for _, f := range filters {
			f.Limit = limit
			set := postgres.ListPlan(f) // what internal/postgres.ListLoans runs
			p.sets, p.statements = append(p.sets, set), len(set)
			p.extended = true // planned with its values, as internal/postgres runs it
			qs = append(qs, apiQuery(f))
		}
		p.request = func(ctx context.Context, i int) *http.Request {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, cfg.web+"/api/v1/admin/requests?"+qs[i%len(qs)].Encode(), nil)
			return req
		}
		out = append(out, p)
	}

	out = append(out, filing(cfg))
	list("list", []domain.Filter{{}})
	var deep, status, days []domain.Filter
	for i, c := range cursors {
		deep = append(deep, domain.Filter{After: &c})
		status = append(status, domain.Filter{Status: []domain.Status{domain.StatusInReview, domain.StatusApproved, domain.StatusRejected}[i%3]})
		from := at().UTC().Truncate(24 * time.Hour)
		days = append(days, domain.Filter{From: from, To: from.AddDate(0, 0, 7)})
	}
	list("deep page", deep)
	list("status", status[:3])
	list("7 days", days)
	var byEmail, prefix, middle []domain.Filter
	searches := func(qs ...string) (fs []domain.Filter) {
		for _, q := range qs {
			fs = append(fs, domain.Filter{Query: q})
		}
		return fs
	}
	for i := range emails {
		e := emails[i]
		if i%2 == 1 { // its start, as typed
			e = e[:strings.IndexByte(e, '@')+1]
		}
		byEmail = append(byEmail, domain.Filter{Query: e})
		prefix = append(prefix, domain.Filter{Query: docs[i][:5]})
		middle = append(middle, domain.Filter{Query: docs[i][2:6]})
	}
	// The seed's names are three words from lists of 40, 100 and 50: a
	// surname is in 1 to 2 % of the table; a first name and a surname in
	// 0.025 %; a whole name in 0.0005 % (50 requests at 10 M), found by
	// intersecting three long lists.
	list("search surname", searches("garcía", "PÉREZ", "quispe", "de la fuente"))
	list("search name+surname", searches("micaela soto", "ledesma ferrari", "Valentina Ríos", "tomás castro"))
	list("search whole name", searches("iñaki ledesma ferrari", "Santiago Núñez Quispe", "maría gonzález rossi", "mateo díaz costa"))
	list("search email", byEmail)
	list("search DNI prefix", prefix)
	list("search DNI middle", middle)
	out = append(out, path{name: "stats", want: http.StatusOK, statements: 1, sets: [][]postgres.Query{{postgres.StatsQuery}},
		request: func(ctx context.Context, _ int) *http.Request {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, cfg.web+"/api/v1/admin/stats", nil)
			return req
		}})
	return out, nil
}

// apiQuery is the list request for a filter, as the SPA would send it.
func apiQuery(f domain.Filter) url.Values {
	q := url.Values{"limit": {strconv.Itoa(f.Limit)}}
	if f.Status != "" {
		q.Set("status", string(f.Status))
	}
	if !f.From.IsZero() {
		q.Set("from", f.From.Format(time.DateOnly))
	}
	if !f.To.IsZero() { // "to" a date includes that day
		q.Set("to", f.To.AddDate(0, 0, -1).Format(time.DateOnly))
	}
	if f.Query != "" {
		q.Set("q", f.Query)
	}
	if f.After != nil {
		q.Set("cursor", f.After.String())
	}
	return q
}

// filing files a request the providers approve at once (the usual case):
// the API claims the key, asks both providers, and saves the request with
// its audit event and settled claim in one statement.
func filing(cfg config) path {
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	now := time.Now().UTC().Truncate(time.Microsecond)
	score := 800
	a := domain.Application{FullName: "Carga Banco", Email: "carga@example.com", DocumentNumber: "30123950", Gender: "F", Amount: 150000}
	l := &domain.LoanRequest{TrackingCode: "LD-0000000000", Application: a, Status: domain.StatusInReview, IdempotencyKey: "k",
		Fingerprint: a.Fingerprint(), CreatedAt: now, UpdatedAt: now}
	_ = l.ApplyDecision(domain.Decision{Status: domain.StatusApproved, Reason: domain.ReasonScore, Score: &score}, now)
	return path{
		name: "filing", want: http.StatusCreated, statements: 2,
		sets: [][]postgres.Query{{postgres.ClaimQuery(l.IdempotencyKey, l.Fingerprint, "bench", 9*time.Second), postgres.FilingQuery(l)}},
		// the key (claimed, then written) and the tracking code are new in
		// every transaction, as they are in every filing
		shared:   map[string]string{"0:1": "key", "1:10": "key", "1:1": "code"},
		setLines: []string{`\set key random(1, 1000000000000000)`, `\set code random(1, 1000000000000000)`},
		request: func(ctx context.Context, i int) *http.Request {
			body := fmt.Sprintf(`{"full_name":"Carga %d","email":"carga%d@example.com","document_number":"3%07d","gender":"F","amount":150000}`, i, i, 1000000+i%8999000)
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, cfg.web+"/api/v1/requests", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Idempotency-Key", fmt.Sprintf("bench-%s-%d", run, i))
			return req
		},
	}
}

// loadAPI runs cfg.clients clients in a closed loop: each sends its next
// request when the last one is answered, after think (0: at once, the
// most the stack can serve; else people at a pace, for their latency).
func loadAPI(ctx context.Context, cfg config, client *http.Client, p path, think time.Duration) (result, error) {
	var next int64
	var mu sync.Mutex
	do := func(measure bool, until time.Time, lat *[]time.Duration, errs *int, first *error) {
		for time.Now().Before(until) {
			mu.Lock()
			i := int(next)
			next++
			mu.Unlock()
			start := time.Now()
			resp, err := client.Do(p.request(ctx, i))
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != p.want {
					err = fmt.Errorf("%s", resp.Status)
				}
			}
			d := time.Since(start)
			mu.Lock()
			if err != nil {
				*errs++
				if *first == nil {
					*first = err
				}
			} else if measure {
				*lat = append(*lat, d)
			}
			mu.Unlock()
			time.Sleep(think)
		}
	}
	phase := func(measure bool, d time.Duration) ([]time.Duration, int, error, time.Duration) {
		var lat []time.Duration
		var errs int
		var first error
		var wg sync.WaitGroup
		start := time.Now()
		until := start.Add(d)
		for range cfg.clients {
			wg.Add(1)
			go func() { defer wg.Done(); do(measure, until, &lat, &errs, &first) }()
		}
		wg.Wait()
		return lat, errs, first, time.Since(start)
	}
	phase(false, cfg.warmup)
	lat, errs, first, wall := phase(true, cfg.duration)
	if len(lat) == 0 {
		return result{}, fmt.Errorf("no request succeeded: %v", first)
	}
	if errs > 0 {
		fmt.Fprintf(os.Stderr, " (%d errors, first: %v)", errs, first)
	}
	r := summarize(lat)
	r.perSec, r.errors = float64(len(lat))/wall.Seconds(), errs
	return r, nil
}

func summarize(lat []time.Duration) result {
	slices.Sort(lat)
	pct := func(q float64) time.Duration { return lat[min(len(lat)-1, int(q*float64(len(lat))))] }
	return result{p50: pct(.50), p99: pct(.99)}
}

var placeholder = regexp.MustCompile(`\$(\d+)`)

// script writes one pgbench script per parameter set: each statement with
// its $n replaced by a variable of its own, whose value goes on the
// command line (-D); pgbench sends them as parameters, as pgx does.
func script(dir string, p path) (files []string, defs []string, err error) {
	for s, set := range p.sets {
		var b strings.Builder
		for _, l := range p.setLines {
			b.WriteString(l + "\n")
		}
		for qi, q := range set {
			sql := placeholder.ReplaceAllStringFunc(q.SQL, func(m string) string {
				n, _ := strconv.Atoi(m[1:])
				if v, ok := p.shared[fmt.Sprintf("%d:%d", qi, n)]; ok {
					return ":" + v
				}
				name := fmt.Sprintf("s%d_q%d_%d", s, qi, n)
				defs = append(defs, "-D", name+"="+text(q.Args[n-1]))
				return ":" + name
			})
			// pgbench ends a command at the first semicolon; ours have none.
			b.WriteString(strings.Join(strings.Fields(sql), " ") + ";\n")
		}
		f := filepath.Join(dir, fmt.Sprintf("%s-%d.sql", strings.ReplaceAll(p.name, " ", "_"), s))
		if err := os.WriteFile(f, []byte(b.String()), 0o644); err != nil {
			return nil, nil, err
		}
		files = append(files, "-f", f+"@1")
	}
	return files, defs, nil
}

// text is an argument as PostgreSQL reads it from text.
func text(v any) string {
	switch x := v.(type) {
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case *time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case *int:
		return strconv.Itoa(*x)
	case []byte:
		return string(x)
	}
	return fmt.Sprint(v)
}

// pgbench runs the path's SQL with as many clients as the API had.
func pgbench(ctx context.Context, cfg config, p path) (result, error) {
	dir, err := os.MkdirTemp("", "pgbench")
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(dir)
	files, defs, err := script(dir, p)
	if err != nil {
		return result{}, err
	}
	mode := "prepared"
	if p.extended {
		mode = "extended"
	}
	base := append([]string{"-n", "-M", mode, "-c", strconv.Itoa(cfg.clients), "-j", strconv.Itoa(min(cfg.clients, runtime.NumCPU()))}, defs...)
	base = append(base, files...)
	// The session settings the API's pool gives its connections
	// (internal/postgres.Open): the same plans on both sides.
	env := append(os.Environ(), "PGOPTIONS=-c max_parallel_workers_per_gather=0")
	warm := exec.CommandContext(ctx, "pgbench", append(base, "-T", strconv.Itoa(max(1, int(cfg.warmup.Seconds()))))...)
	warm.Env = env
	if out, err := warm.CombinedOutput(); err != nil {
		return result{}, fmt.Errorf("%v: %s", err, out)
	}
	logs := filepath.Join(dir, "log")
	cmd := exec.CommandContext(ctx, "pgbench", append(base, "-T", strconv.Itoa(int(cfg.duration.Seconds())), "-l", "--log-prefix="+logs)...)
	cmd.Dir, cmd.Env = dir, env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return result{}, fmt.Errorf("%v: %s", err, out)
	}
	m := regexp.MustCompile(`tps = ([0-9.]+) \(without initial connection time\)`).FindSubmatch(out)
	if m == nil {
		return result{}, fmt.Errorf("no tps in pgbench's output:\n%s", out)
	}
	tps, _ := strconv.ParseFloat(string(m[1]), 64)
	lat, err := readLogs(logs)
	if err != nil {
		return result{}, err
	}
	if len(lat) == 0 {
		return result{}, fmt.Errorf("pgbench logged no transactions:\n%s", out)
	}
	r := summarize(lat)
	r.perSec = tps
	return r, nil
}

// readLogs reads pgbench's per-transaction logs ("client tx latency_us …").
func readLogs(prefix string) ([]time.Duration, error) {
	files, _ := filepath.Glob(prefix + ".*")
	var lat []time.Duration
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		s := bufio.NewScanner(f)
		for s.Scan() {
			fields := strings.Fields(s.Text())
			if len(fields) < 3 {
				continue
			}
			us, err := strconv.ParseInt(fields[2], 10, 64)
			if err == nil {
				lat = append(lat, time.Duration(us)*time.Microsecond)
			}
		}
		f.Close()
	}
	return lat, nil
}

func printTable(w io.Writer, cfg config, started time.Time, rows []row) {
	fmt.Fprintf(w, "LoanDesk bench, %s UTC, %d CPUs, %s of memory, %d clients, %v per path and side (after %v warm-up); "+
		"admins pause %v between requests\n\n",
		started.Format("2006-01-02 15:04"), runtime.NumCPU(), memTotal(), cfg.clients, cfg.duration, cfg.warmup, cfg.think)
	fmt.Fprintf(w, "| rows | path | API req/s | API p50 | API p99 | pgbench tps | pgbench p50 | pgbench p99 | ratio | %d admins p50 | %d admins p99 |\n", cfg.clients, cfg.clients)
	fmt.Fprintln(w, "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
	for _, r := range rows {
		admins := "| – | – |"
		if r.admins != nil {
			admins = "| " + ms(r.admins.p50) + " | " + ms(r.admins.p99) + " |"
		}
		fmt.Fprintf(w, "| %s | %s | %.0f | %s | %s | %.0f | %s | %s | %.2f %s\n", grouped(r.rows), r.path,
			r.api.perSec, ms(r.api.p50), ms(r.api.p99), r.sql.perSec, ms(r.sql.p50), ms(r.sql.p99), r.api.perSec/r.sql.perSec, admins)
	}
}

// grouped writes 10000000 as 10,000,000.
func grouped(n int64) string {
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// memTotal is the machine's memory as /proc/meminfo gives it (a container
// sees its host's).
func memTotal() string {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return "unknown"
	}
	var kb int64
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "MemTotal:" {
			kb, _ = strconv.ParseInt(f[1], 10, 64)
		}
	}
	return fmt.Sprintf("%.0f GiB", float64(kb)/(1<<20))
}
