package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/loandesk/loandesk/internal/domain"
	"github.com/loandesk/loandesk/internal/postgres"
	"github.com/loandesk/loandesk/internal/testenv"
)

func approve(t *testing.T, db *postgres.DB, id int64) {
	t.Helper()
	_, err := db.UpdateLoan(context.Background(), id, domain.System, func(l *domain.LoanRequest) (string, string, error) {
		return domain.ActionDecide, "", l.ApplyDecision(domain.Decision{Status: domain.StatusApproved, Reason: domain.ReasonScore}, time.Now())
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestListFiltersSearchAndWalksPagesByCursor(t *testing.T) {
	db, ctx := testenv.DB(t), context.Background()
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := range 12 {
		l := newLoan(fmt.Sprintf("key-list-%02d", i), fmt.Sprintf("Persona %02d", i), fmt.Sprintf("301239%02d", i), base.AddDate(0, 0, i))
		if i == 3 {
			l.FullName, l.Email = "Zoë Ñandú-Pérez", "zoe.100%_x@example.com"
		}
		if i == 7 || i == 8 { // two filed in the same microsecond: the id breaks the tie
			l.CreatedAt = base.AddDate(0, 0, 7)
		}
		stored, _, err := db.CreateLoan(ctx, l)
		if err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			approve(t, db, stored.ID)
		}
	}
	check := func(name string, f domain.Filter, wantTotal, wantItems int) domain.Page {
		t.Helper()
		if f.Limit == 0 {
			f.Limit = 5
		}
		p, err := db.ListLoans(ctx, f)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if p.Total != wantTotal || p.TotalAtLeast || len(p.Items) != wantItems {
			t.Fatalf("%s: total %d (at least: %v) items %d, want %d/%d", name, p.Total, p.TotalAtLeast, len(p.Items), wantTotal, wantItems)
		}
		return p
	}
	// Every page from the cursor of the one before: all twelve, newest
	// first, none twice, and no cursor after the last page.
	var seen []domain.LoanRequest
	f := domain.Filter{Limit: 5}
	for pages := 0; ; pages++ {
		p := check(fmt.Sprintf("page %d", pages+1), f, 12, min(5, 12-len(seen)))
		seen = append(seen, p.Items...)
		if p.Next == nil {
			if pages != 2 {
				t.Fatalf("%d pages, want 3", pages+1)
			}
			break
		}
		f.After = p.Next
	}
	for i := 1; i < len(seen); i++ {
		a, b := seen[i-1], seen[i]
		if a.CreatedAt.Before(b.CreatedAt) || (a.CreatedAt.Equal(b.CreatedAt) && a.ID <= b.ID) {
			t.Fatalf("not newest first at %d: %v/%d then %v/%d", i, a.CreatedAt, a.ID, b.CreatedAt, b.ID)
		}
	}
	check("approved", domain.Filter{Status: domain.StatusApproved}, 4, 4)
	p := check("in review", domain.Filter{Status: domain.StatusInReview}, 8, 5)
	check("in review, page 2", domain.Filter{Status: domain.StatusInReview, After: p.Next}, 8, 3)
	check("whole days", domain.Filter{From: day(base.AddDate(0, 0, 2)), To: day(base.AddDate(0, 0, 5))}, 3, 3)
	check("a range within days", domain.Filter{From: base.AddDate(0, 0, 2), To: base.AddDate(0, 0, 4).Add(time.Second)}, 3, 3)
	check("search a word", domain.Filter{Query: "persona"}, 11, 5)
	check("search a word, page 2", domain.Filter{Query: "persona", After: check("", domain.Filter{Query: "PERSONA"}, 11, 5).Next}, 11, 5)
	check("search words in any order, folded", domain.Filter{Query: "perez ZOE"}, 1, 1)
	check("a word of the email", domain.Filter{Query: "zoe"}, 1, 1)
	check("words must all match", domain.Filter{Query: "persona zoe"}, 0, 0)
	check("three words, any order (pairs)", domain.Filter{Query: "ñandú pérez zoë"}, 1, 1)
	check("four words with one the request lacks", domain.Filter{Query: "zoe nandu perez persona"}, 0, 0)
	check("a word typed twice, folded to one", domain.Filter{Query: "perez PÉREZ"}, 1, 1)
	check("a word of the name with one of the email", domain.Filter{Query: "nandu 100"}, 1, 1)
	check("a part of a word is not a word", domain.Filter{Query: "perso"}, 0, 0)
	check("search a word, approved", domain.Filter{Query: "persona", Status: domain.StatusApproved}, 3, 3)
	check("search document", domain.Filter{Query: "3012390"}, 10, 5)
	check("search the middle of a document", domain.Filter{Query: "1239 03"}, 1, 1)
	check("the start of an email", domain.Filter{Query: "zoe.100%_"}, 1, 1)
	check("an email", domain.Filter{Query: "ANA@example.com"}, 11, 5)
	check("wildcards are literal", domain.Filter{Query: "ana%@"}, 0, 0)
	check("nothing to search", domain.Filter{Query: "' OR 1=1 --"}, 0, 0)
	stats, err := db.Stats(ctx)
	if err != nil || stats.Approved != 4 || stats.InReview != 8 || stats.Deleted != 0 {
		t.Fatalf("stats = %+v, %v", stats, err)
	}
}

func day(t time.Time) time.Time { return t.UTC().Truncate(24 * time.Hour) }

// bulk inserts n requests by SQL, one per minute back from now, as the
// seeding script would: the tests below need more rows than filing one by
// one could make quickly.
func bulk(t *testing.T, db *postgres.DB, n int, name string) {
	t.Helper()
	_, err := db.Unbounded(t).Exec(context.Background(), `
		INSERT INTO loan_requests (tracking_code, full_name, email, document_number, gender, amount, status,
			idempotency_key, fingerprint, created_at, updated_at)
		SELECT 'LD-' || left(md5($2 || k), 10), $2 || ' ' || k, 'bulk' || k || '@example.com', (20000000 + k)::text, 'F', 50000,
			CASE WHEN k % 10 = 0 THEN 'in_review' ELSE 'approved' END, 'bulk-' || $2 || k, 'x', now() - k * interval '1 minute', now()
		FROM generate_series(1, $1::int) k`, n, name)
	if err != nil {
		t.Fatal(err)
	}
}

// A document number holds some digits twice; it is one match, and every
// place of the digits finds it.
func TestDigitsFindADocumentOnceWhereverTheyAre(t *testing.T) {
	db, ctx := testenv.DB(t), context.Background()
	at := time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC)
	for i, doc := range []string{"12121212", "3412120", "99991234"} {
		if _, _, err := db.CreateLoan(ctx, newLoan(fmt.Sprintf("key-digits-%d", i), "Ana Digitos", doc, at.Add(time.Duration(i)*time.Minute))); err != nil {
			t.Fatal(err)
		}
	}
	for q, want := range map[string]int{"1212": 2, "121212": 1, "12.121.212": 1, "2120": 1, "3412": 1, "1234": 1, "4121": 1, "9999 1234": 1, "21212121": 0, "5555": 0} {
		p, err := db.ListLoans(ctx, domain.Filter{Query: q, Limit: 10})
		if err != nil {
			t.Fatalf("%q: %v", q, err)
		}
		if p.Total != want || len(p.Items) != want {
			t.Errorf("%q: total %d, %d items; want %d", q, p.Total, len(p.Items), want)
		}
	}
}

func TestBroadSearchesCountUpToTheCapAndSayItIsALowerBound(t *testing.T) {
	db, ctx := testenv.DB(t), context.Background()
	bulk(t, db, domain.CountCap+50, "Común")
	p, err := db.ListLoans(ctx, domain.Filter{Query: "comun", Limit: 20})
	if err != nil {
		t.Fatal(err)
	}
	if p.Total != domain.CountCap || !p.TotalAtLeast || len(p.Items) != 20 || p.Next == nil {
		t.Fatalf("total %d at least %v, %d items; want %d, a lower bound, a full page", p.Total, p.TotalAtLeast, len(p.Items), domain.CountCap)
	}
	// Without a search the daily counts give the exact number, however many.
	p, err = db.ListLoans(ctx, domain.Filter{Limit: 20})
	if err != nil || p.Total != domain.CountCap+50 || p.TotalAtLeast {
		t.Fatalf("unfiltered total %d (at least %v), %v; want exactly %d", p.Total, p.TotalAtLeast, err, domain.CountCap+50)
	}
	// A search with fewer matches than the cap is counted exactly.
	p, err = db.ListLoans(ctx, domain.Filter{Query: "comun", Status: domain.StatusInReview, Limit: 1})
	if err != nil || p.Total != (domain.CountCap+50)/10 || p.TotalAtLeast {
		t.Fatalf("a narrower search: total %d at least %v, %v; want exactly %d", p.Total, p.TotalAtLeast, err, (domain.CountCap+50)/10)
	}
}

// A search's first page comes from one statement with its total
// (SearchPageQuery); it must list and count exactly what the page and the
// count apart do, at the cap and around it, with every filter.
func TestASearchsFirstPageInOneStatementIsThePageAndTheCountApart(t *testing.T) {
	db, ctx := testenv.DB(t), context.Background()
	bulk(t, db, domain.CountCap+30, "Común")
	for _, id := range []int64{3, 4, 50} {
		if _, err := db.UpdateLoan(ctx, id, domain.System, func(l *domain.LoanRequest) (string, string, error) {
			return domain.ActionDelete, "", l.Delete(time.Now())
		}); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	for _, f := range []domain.Filter{
		{Query: "comun", Limit: 20},
		{Query: "comun", Limit: domain.MaxPageSize},
		{Query: "comun 117", Limit: 5},
		{Query: "comun", Status: domain.StatusInReview, Limit: 5},
		{Query: "comun", Deleted: true, Limit: 2},
		{Query: "comun", From: now.Add(-90 * time.Minute), To: now.Add(-20 * time.Minute), Limit: 20},
		{Query: "2000", Limit: 20},
		{Query: "20000", Limit: 3},
		{Query: "bulk1", Limit: 20},
		{Query: "bulk1@", Limit: 20},
		{Query: "nadie", Limit: 20},
	} {
		one, ok := postgres.SearchPageQuery(f)
		if !ok {
			t.Fatalf("%+v: no one-statement page for a search's first page", f)
		}
		got, totals := ids(t, db, one)
		var n int
		if len(totals) > 0 {
			n = int(totals[0].(int64))
		}
		wantIDs, _ := ids(t, db, postgres.ListQuery(f))
		var want int
		count := postgres.CountQuery(f)
		if err := db.Pool().QueryRow(ctx, count.SQL, count.Args...).Scan(&want); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != fmt.Sprint(wantIDs) || n != want {
			t.Errorf("%+v: one statement %v, %d matches; apart %v, %d", f, got, n, wantIDs, want)
		}
	}
	for _, f := range []domain.Filter{{Limit: 20}, {Query: "comun", Limit: 20, After: &domain.Cursor{CreatedAt: now, ID: 1 << 40}}} {
		if _, ok := postgres.SearchPageQuery(f); ok {
			t.Errorf("%+v: one statement, but the total comes from the daily counts or the cursor may lie past the counted matches", f)
		}
	}
}

// ids runs q and returns its rows' first column (the request's id) and
// each row's last column.
func ids(t *testing.T, db *postgres.DB, q postgres.Query) (ids []int64, last []any) {
	t.Helper()
	rows, err := db.Pool().Query(context.Background(), q.SQL, q.Args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, q.SQL)
	}
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		ids, last = append(ids, vals[0].(int64)), append(last, vals[len(vals)-1])
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	return ids, last
}

// TestTheDailyCountsMatchTheTable changes requests from many connections at
// once (filings, decisions, deletions, restores) and then compares the
// counts the trigger kept with the table itself.
func TestTheDailyCountsMatchTheTable(t *testing.T) {
	db, ctx := testenv.DB(t), context.Background()
	const clients, each = 40, 10
	now := time.Now().UTC()
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(c), 7))
			for i := range each {
				created := now.AddDate(0, 0, -r.IntN(3))
				l, _, err := db.CreateLoan(ctx, newLoan(fmt.Sprintf("key-count-%d-%d", c, i), "Ana Cuenta", "30123950", created))
				if err != nil {
					t.Error(err)
					return
				}
				steps := []domain.UpdateFunc{
					func(l *domain.LoanRequest) (string, string, error) {
						return domain.ActionDecide, "", l.ApplyDecision(domain.Decision{Status: domain.StatusRejected, Reason: domain.ReasonScore}, time.Now())
					},
					func(l *domain.LoanRequest) (string, string, error) {
						return domain.ActionDelete, "", l.Delete(time.Now())
					},
					func(l *domain.LoanRequest) (string, string, error) {
						return domain.ActionRestore, "", l.Restore(time.Now())
					},
					func(l *domain.LoanRequest) (string, string, error) {
						return domain.ActionStatus, "", l.SetStatus(domain.StatusApproved, "ok", "boss", time.Now())
					},
				}
				for _, step := range steps[:r.IntN(len(steps)+1)] {
					if _, err := db.UpdateLoan(ctx, l.ID, domain.System, step); err != nil {
						t.Error(err)
						return
					}
				}
			}
		}()
	}
	// The worker's compaction runs meanwhile, twice at once, as two
	// workers would.
	done := make(chan struct{})
	var folders sync.WaitGroup
	for range 2 {
		folders.Add(1)
		go func() {
			defer folders.Done()
			for {
				if _, err := db.FoldCounts(ctx); err != nil {
					t.Error(err)
				}
				select {
				case <-done:
					return
				case <-time.After(20 * time.Millisecond):
				}
			}
		}()
	}
	wg.Wait()
	close(done)
	folders.Wait()
	if _, err := db.FoldCounts(ctx); err != nil {
		t.Fatal(err)
	}
	var spread, today int
	if err := db.Pool().QueryRow(ctx, `SELECT count(*) FILTER (WHERE day < (now() AT TIME ZONE 'UTC')::date AND shard <> 0),
		count(DISTINCT shard) FILTER (WHERE day = (now() AT TIME ZONE 'UTC')::date) FROM loan_counts`).Scan(&spread, &today); err != nil {
		t.Fatal(err)
	}
	if spread != 0 {
		t.Errorf("%d rows of past days are still spread over shards after folding", spread)
	}
	if today < 2 {
		t.Errorf("today's filings from %d connections used %d shard(s): they would wait for each other", clients, today)
	}
	var drift []string
	rows, err := db.Pool().Query(ctx, `
		WITH kept AS (SELECT day, status, deleted, sum(n) AS n FROM loan_counts GROUP BY 1, 2, 3),
		     real AS (SELECT (created_at AT TIME ZONE 'UTC')::date AS day, status, deleted_at IS NOT NULL AS deleted, count(*) AS n
		              FROM loan_requests GROUP BY 1, 2, 3)
		SELECT coalesce(k.day, r.day)::text, coalesce(k.status, r.status), coalesce(k.deleted, r.deleted), coalesce(k.n, 0), coalesce(r.n, 0)
		FROM kept k FULL JOIN real r USING (day, status, deleted)
		WHERE coalesce(k.n, 0) <> coalesce(r.n, 0)`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var d, s string
		var del bool
		var kept, real int
		if err := rows.Scan(&d, &s, &del, &kept, &real); err != nil {
			t.Fatal(err)
		}
		drift = append(drift, fmt.Sprintf("%s %s deleted=%v: kept %d, table %d", d, s, del, kept, real))
	}
	if len(drift) > 0 {
		t.Fatalf("the daily counts drifted from the table:\n%s", strings.Join(drift, "\n"))
	}
	stats, _ := db.Stats(ctx)
	if stats.InReview+stats.Approved+stats.Rejected+stats.Deleted != clients*each {
		t.Fatalf("stats %+v add up to less than the %d requests", stats, clients*each)
	}
}

// TestNoAdminPathReadsTheWholeTable asks the planner, on a table large
// enough for its choices to be the real ones, how it runs every query
// behind the admin list: each must use the index it was made for, and
// none may scan loan_requests or sort it.
func TestNoAdminPathReadsTheWholeTable(t *testing.T) {
	db, ctx := testenv.DB(t), context.Background()
	bulk(t, db, 30000, "Persona")
	bulk(t, db, 30, "Únicà")
	if _, err := db.Unbounded(t).Exec(ctx, `VACUUM ANALYZE loan_requests, loan_words, loan_documents`); err != nil {
		t.Fatal(err)
	}
	deep := &domain.Cursor{CreatedAt: time.Now().Add(-200 * time.Hour), ID: 1 << 40}
	for _, c := range []struct {
		name  string
		f     domain.Filter
		index string // the index the page query must use
	}{
		{"first page", domain.Filter{}, "loan_requests_live"},
		{"deep page", domain.Filter{After: deep}, "loan_requests_live"},
		{"deleted", domain.Filter{Deleted: true}, "loan_requests_deleted"},
		{"deleted, by status", domain.Filter{Deleted: true, Status: domain.StatusApproved}, "loan_requests_deleted"},
		{"status", domain.Filter{Status: domain.StatusInReview, After: deep}, "loan_requests_status"},
		{"days", domain.Filter{From: day(time.Now()).AddDate(0, 0, -9), To: day(time.Now()).AddDate(0, 0, -4)}, "loan_requests_live"},
		{"times", domain.Filter{From: time.Now().Add(-300 * time.Hour), To: time.Now().Add(-100 * time.Hour)}, "loan_requests_live"},
		{"search a rare word", domain.Filter{Query: "unica"}, "loan_words_pkey"},
		{"search a common word", domain.Filter{Query: "persona"}, "loan_words_pkey"},
		{"search two words", domain.Filter{Query: "persona 12345"}, "loan_words_pkey"},
		{"search three words", domain.Filter{Query: "persona 12345 bulk12345"}, "loan_words_pkey"},
		{"search a word, deep", domain.Filter{Query: "persona", After: deep}, "loan_words_pkey"},
		{"search a document", domain.Filter{Query: "20000029"}, "loan_documents_pkey"},
		{"search digits of many documents", domain.Filter{Query: "2000"}, "loan_documents_head"},
		{"search digits of many documents, deep", domain.Filter{Query: "2000", After: deep}, "loan_documents_head"},
		{"search five digits", domain.Filter{Query: "20000"}, "loan_documents_pkey"},
		{"search an email", domain.Filter{Query: "bulk29999@"}, "loan_requests_email"},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.f.Limit = 20
			page := explain(t, db, postgres.ListQuery(c.f))
			count := explain(t, db, postgres.CountQuery(c.f))
			plans := []plan{page, count}
			if q, ok := postgres.SearchPageQuery(c.f); ok {
				one := explain(t, db, q)
				if !one.uses(c.index) {
					t.Errorf("the page with its total does not use %s:\n%s", c.index, one)
				}
				plans = append(plans, one)
			}
			if !page.uses(c.index) {
				t.Errorf("the page does not use %s:\n%s", c.index, page)
			}
			for _, p := range plans {
				if p.has("Seq Scan", "loan_requests") || p.has("Seq Scan", "loan_words") || p.has("Seq Scan", "loan_documents") {
					t.Errorf("a query reads the whole table:\n%s", p)
				}
				// Only a search by more digits than a key's (a range of
				// suffixes) or an email's start may sort its matches; the
				// rest read in order.
				if s := domain.ParseSearch(c.f.Query); len(s.Digits) <= domain.MinDigits && s.Email == "" && p.has("Sort", "") {
					t.Errorf("a query sorts instead of reading an index in order:\n%s", p)
				}
			}
			if c.name != "times" && c.f.Query == "" && !count.has("", "loan_counts") {
				t.Errorf("the total of a filter without a search does not come from the daily counts:\n%s", count)
			}
		})
	}
}

// plan is a query plan as EXPLAIN (FORMAT JSON) gives it.
type plan struct {
	NodeType string `json:"Node Type"`
	Relation string `json:"Relation Name"`
	Index    string `json:"Index Name"`
	Plans    []plan `json:"Plans"`
	raw      string
}

func (p plan) String() string { return p.raw }

// walk calls fn on p and every node under it.
func (p plan) walk(fn func(plan) bool) bool {
	if fn(p) {
		return true
	}
	for _, c := range p.Plans {
		if c.walk(fn) {
			return true
		}
	}
	return false
}

// has reports a node of the type on the relation (either empty: any).
func (p plan) has(nodeType, relation string) bool {
	return p.walk(func(n plan) bool {
		return (nodeType == "" || n.NodeType == nodeType) && (relation == "" || n.Relation == relation)
	})
}

func (p plan) uses(index string) bool { return p.walk(func(n plan) bool { return n.Index == index }) }

// explain is the planner's plan for q.
func explain(t *testing.T, db *postgres.DB, q postgres.Query) plan {
	t.Helper()
	var raw json.RawMessage
	if err := db.Pool().QueryRow(context.Background(), "EXPLAIN (FORMAT JSON) "+q.SQL, q.Args...).Scan(&raw); err != nil {
		t.Fatalf("%v\n%s", err, q.SQL)
	}
	var out []struct{ Plan plan }
	if err := json.Unmarshal(raw, &out); err != nil || len(out) != 1 {
		t.Fatalf("reading the plan: %v\n%s", err, raw)
	}
	out[0].Plan.raw = string(raw)
	return out[0].Plan
}

// TestNoParallelPlans: a parallel plan under a LIMIT reads ahead of what
// it returns; the pool turns parallel plans off unless the URL asks.
func TestNoParallelPlans(t *testing.T) {
	db := testenv.DB(t)
	var v string
	if err := db.Pool().QueryRow(context.Background(), `SHOW max_parallel_workers_per_gather`).Scan(&v); err != nil || v != "0" {
		t.Fatalf("max_parallel_workers_per_gather = %q (%v), want 0", v, err)
	}
}

// TestThePoolHasRoomForEveryListInFlight: pgx would size the pool by CPUs
// (4 here), and each admin list holds two connections at once.
func TestThePoolHasRoomForEveryListInFlight(t *testing.T) {
	if n := testenv.DB(t).Pool().Config().MaxConns; n != 10 {
		t.Fatalf("MaxConns = %d, want 10 unless the URL sets pool_max_conns", n)
	}
}

// TestTwoHundredAdminsAtOnceQueueForThePool: 200 lists at once (searches'
// first pages in one statement; plain lists and later pages as a page and
// a total on two connections) all get the page they get alone, while the
// process never holds more than the pool's 10 connections: the rest wait
// for one. A list that held one connection while waiting for its second
// would deadlock here.
func TestTwoHundredAdminsAtOnceQueueForThePool(t *testing.T) {
	db, ctx := testenv.DB(t), context.Background()
	base := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	for i := range 60 {
		name := []string{"Micaela Soto", "Tomás Ríos", "Ana Quispe"}[i%3]
		if _, _, err := db.CreateLoan(ctx, newLoan(fmt.Sprintf("key-crowd-%02d", i), name, fmt.Sprintf("3011%04d", i), base.Add(time.Duration(i)*time.Minute))); err != nil {
			t.Fatal(err)
		}
	}
	first, err := db.ListLoans(ctx, domain.Filter{Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	filters := []domain.Filter{
		{Limit: 5}, {Limit: 5, After: first.Next}, {Limit: 5, Query: "soto"}, {Limit: 5, Query: "3011"},
		{Limit: 5, Query: "micaela soto", After: first.Next}, {Limit: 5, Status: domain.StatusInReview},
	}
	alone := make([]domain.Page, len(filters))
	for i, f := range filters {
		if alone[i], err = db.ListLoans(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	// The connections this database has, sampled from outside the pool.
	watch, err := pgx.Connect(ctx, db.Pool().Config().ConnConfig.ConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close(ctx)
	// A backend exits a moment after its client closes the connection, so
	// the count from outside also sees connections the process already let
	// go of: first wait for the setup's (the migration's pool) to be gone,
	// then allow, above the pool's 10, one per connection the pool replaced
	// during the run (a ping that took longer than PingTimeout on a busy
	// machine closes one and opens another). A second pool, or a
	// connection opened outside this one, is still over the limit.
	held := func() int {
		var c int
		if err := watch.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`).Scan(&c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	for held() > int(db.Pool().Stat().TotalConns()) {
		time.Sleep(10 * time.Millisecond)
	}
	before := db.Pool().Stat()
	stop, most := make(chan struct{}), make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-stop:
				most <- n
				return
			default:
			}
			var c int
			if err := watch.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`).Scan(&c); err == nil {
				n = max(n, c)
			}
		}
	}()
	const admins = 200
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, admins)
	deadline, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for i := range admins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			f, want := filters[i%len(filters)], alone[i%len(filters)]
			p, err := db.ListLoans(deadline, f)
			switch {
			case err != nil:
				errs <- fmt.Errorf("admin %d (%+v): %w", i, f, err)
			case p.Total != want.Total || !slices.Equal(pageIDs(p), pageIDs(want)):
				errs <- fmt.Errorf("admin %d (%+v): total %d %v, alone %d %v", i, f, p.Total, pageIDs(p), want.Total, pageIDs(want))
			}
		}()
	}
	close(start)
	wg.Wait()
	close(stop)
	n := <-most
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	after := db.Pool().Stat()
	replaced := int(after.NewConnsCount()-before.NewConnsCount()) - int(after.TotalConns()-before.TotalConns())
	if n > 10+replaced || n < 2 {
		t.Fatalf("the process held up to %d connections under %d admins (%d replaced during the run); want 2 to the pool's 10", n, admins, replaced)
	}
	t.Logf("%d admins at once: at most %d connections (%d replaced during the run)", admins, n, replaced)
}

func pageIDs(p domain.Page) []int64 {
	out := make([]int64, len(p.Items))
	for i, l := range p.Items {
		out[i] = l.ID
	}
	return out
}

// The search rule lives in Go (domain.ParseSearch, MinQuery, MinDigits) and
// in the migrations' PL/pgSQL (loandesk_terms, loandesk_suffixes): the
// database indexes exactly the words and digits the domain lets an admin
// search for. Change a constant without a migration, and this fails.
func TestTheSearchRuleIsTheDatabasesRule(t *testing.T) {
	db, ctx := testenv.DB(t), context.Background()
	short, enough := strings.Repeat("q", domain.MinQuery-1), strings.Repeat("q", domain.MinQuery)
	var terms []string
	if err := db.Pool().QueryRow(ctx, `SELECT loandesk_terms($1, 'x@example.com')`, short+" "+enough).Scan(&terms); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(terms, short) || !slices.Contains(terms, enough) {
		t.Errorf("terms %v of %q: want words of %d letters or more only (domain.MinQuery)", terms, short+" "+enough, domain.MinQuery)
	}
	if s := domain.ParseSearch(short + " " + enough); !slices.Equal(s.Words, []string{enough}) {
		t.Errorf("the domain searches %v, the database indexes %v", s.Words, terms)
	}
	var suffixes []string
	if err := db.Pool().QueryRow(ctx, `SELECT loandesk_suffixes('30123950')`).Scan(&suffixes); err != nil {
		t.Fatal(err)
	}
	shortest := len(suffixes[0])
	for _, s := range suffixes {
		shortest = min(shortest, len(s))
	}
	if shortest != domain.MinDigits {
		t.Errorf("the database keeps suffixes of %d digits or more, the domain searches %d (domain.MinDigits)", shortest, domain.MinDigits)
	}
}
