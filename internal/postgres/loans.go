package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/loandesk/loandesk/internal/domain"
)

const loanColumns = `id, tracking_code, full_name, email, document_number, gender, amount, status, reason, score,
	idempotency_key, fingerprint, created_at, updated_at, decided_at, decided_by, deleted_at`

// scanLoan reads a request's columns (loanColumns), then any extra ones.
func scanLoan(row pgx.Row, extra ...any) (*domain.LoanRequest, error) {
	var l domain.LoanRequest
	err := row.Scan(append([]any{&l.ID, &l.TrackingCode, &l.FullName, &l.Email, &l.DocumentNumber, &l.Gender, &l.Amount,
		&l.Status, &l.Reason, &l.Score, &l.IdempotencyKey, &l.Fingerprint, &l.CreatedAt, &l.UpdatedAt,
		&l.DecidedAt, &l.DecidedBy, &l.DeletedAt}, extra...)...)
	if err != nil {
		return nil, err
	}
	return &l, nil
}

// CreateLoan saves a new request with what follows from it: the audit
// event of its automatic decision, or, when it is undecided, its decision
// job. When the idempotency key is taken it writes nothing and returns the
// request that holds it (existed=true): the unique key makes concurrent
// repeats produce exactly one row, and so exactly one job.
//
// A decided request (the usual case) is one statement, so one round trip:
// the row and its audit event commit together or not at all.
func (db *DB) CreateLoan(ctx context.Context, l *domain.LoanRequest) (*domain.LoanRequest, bool, error) {
	if l.Undecided() {
		return db.createQueued(ctx, l)
	}
	q := FilingQuery(l)
	stored, err := scanLoan(db.pool.QueryRow(ctx, q.SQL, q.Args...))
	if errors.Is(err, pgx.ErrNoRows) {
		stored, err = db.LoanByIdempotencyKey(ctx, l.IdempotencyKey)
		return stored, err == nil, err
	}
	if err != nil {
		return nil, false, translate(err, "saving the loan request")
	}
	return stored, false, nil
}

// createQueued saves an undecided request and its decision job in one
// transaction (River inserts the job with the transaction it is given).
func (db *DB) createQueued(ctx context.Context, l *domain.LoanRequest) (*domain.LoanRequest, bool, error) {
	var stored *domain.LoanRequest
	existed := false
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		stored, err = scanLoan(tx.QueryRow(ctx, `
			INSERT INTO loan_requests (`+insertColumns+`) VALUES (`+insertValues+`)
			ON CONFLICT (idempotency_key) DO NOTHING
			RETURNING `+loanColumns, insertArgs(l)...))
		if errors.Is(err, pgx.ErrNoRows) {
			existed = true
			stored, err = scanLoan(tx.QueryRow(ctx, `SELECT `+loanColumns+` FROM loan_requests WHERE idempotency_key = $1`, l.IdempotencyKey))
			return err
		}
		if err != nil {
			return err
		}
		if err := settleClaim(ctx, tx, l.IdempotencyKey); err != nil {
			return err
		}
		_, err = db.jobs.InsertTx(ctx, tx, domain.DecisionJob{RequestID: stored.ID}, &river.InsertOpts{MaxAttempts: domain.DecisionAttempts})
		return err
	})
	if err != nil {
		return nil, false, translate(err, "saving the loan request")
	}
	return stored, existed, nil
}

const (
	insertColumns = `tracking_code, full_name, email, document_number, gender, amount, status, reason,
		score, idempotency_key, fingerprint, created_at, updated_at, decided_at, decided_by`
	insertValues = `$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15`
)

func insertArgs(l *domain.LoanRequest) []any {
	return []any{l.TrackingCode, l.FullName, l.Email, l.DocumentNumber, l.Gender, l.Amount, l.Status, l.Reason,
		l.Score, l.IdempotencyKey, l.Fingerprint, l.CreatedAt, l.UpdatedAt, l.DecidedAt, l.DecidedBy}
}

// Query is one SQL statement and its arguments.
type Query struct {
	SQL  string
	Args []any
}

// FilingQuery saves a decided request, the audit event of its decision and
// its key's settled claim (claims.go) in one statement; it returns no row
// when the idempotency key is taken.
// Exported for tools/bench, which runs the same SQL under pgbench.
func FilingQuery(l *domain.LoanRequest) Query {
	before, _ := json.Marshal(auditView(undecided))
	after, _ := json.Marshal(auditView(l))
	return Query{SQL: `
		WITH saved AS (
			INSERT INTO loan_requests (` + insertColumns + `) VALUES (` + insertValues + `)
			ON CONFLICT (idempotency_key) DO NOTHING
			RETURNING ` + loanColumns + `
		), audited AS (
			INSERT INTO audit_events (request_id, actor, action, comment, before, after, created_at)
			SELECT id, $16, $17, '', $18, $19, updated_at FROM saved
		), settled AS (
			UPDATE filing_claims SET done = true WHERE idempotency_key = $10
		)
		SELECT ` + loanColumns + ` FROM saved`,
		Args: append(insertArgs(l), domain.System.Name, domain.ActionDecide, before, after)}
}

// undecided is a request as filed, before any decision: the "before" of the
// audit event of a decision taken while filing.
var undecided = &domain.LoanRequest{Status: domain.StatusInReview}

// LoanByIdempotencyKey finds the request filed under key.
func (db *DB) LoanByIdempotencyKey(ctx context.Context, key string) (*domain.LoanRequest, error) {
	l, err := scanLoan(db.pool.QueryRow(ctx, `SELECT `+loanColumns+` FROM loan_requests WHERE idempotency_key = $1`, key))
	return l, translate(err, "request")
}

// LoanByTrackingCode hides deleted requests from the public.
func (db *DB) LoanByTrackingCode(ctx context.Context, code string) (*domain.LoanRequest, error) {
	l, err := scanLoan(db.pool.QueryRow(ctx, `SELECT `+loanColumns+` FROM loan_requests WHERE tracking_code = $1 AND deleted_at IS NULL`, code))
	return l, translate(err, "request")
}

// LoanByID returns a request, deleted or not.
func (db *DB) LoanByID(ctx context.Context, id int64) (*domain.LoanRequest, error) {
	l, err := scanLoan(db.pool.QueryRow(ctx, `SELECT `+loanColumns+` FROM loan_requests WHERE id = $1`, id))
	return l, translate(err, "request")
}

// UpdateLoan locks the row, lets fn change it, and saves it with an audit
// event holding the before and after state, all in one transaction.
func (db *DB) UpdateLoan(ctx context.Context, id int64, actor domain.Actor, fn domain.UpdateFunc) (*domain.LoanRequest, error) {
	var out *domain.LoanRequest
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		l, err := scanLoan(tx.QueryRow(ctx, `SELECT `+loanColumns+` FROM loan_requests WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return err
		}
		before := *l
		action, comment, err := fn(l)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `
			UPDATE loan_requests SET status = $2, reason = $3, score = $4, updated_at = $5, decided_at = $6,
				decided_by = $7, deleted_at = $8
			WHERE id = $1`,
			l.ID, l.Status, l.Reason, l.Score, l.UpdatedAt, l.DecidedAt, l.DecidedBy, l.DeletedAt)
		if err != nil {
			return fmt.Errorf("updating loan request: %w", err)
		}
		if err := insertAudit(ctx, tx, l.ID, actor, action, comment, &before, l); err != nil {
			return err
		}
		out = l
		return nil
	})
	return out, translate(err, "request")
}

// insertAudit records one change to a request, with its state before and after.
func insertAudit(ctx context.Context, tx pgx.Tx, id int64, actor domain.Actor, action, comment string, before, after *domain.LoanRequest) error {
	b, _ := json.Marshal(auditView(before))
	a, _ := json.Marshal(auditView(after))
	_, err := tx.Exec(ctx, `
		INSERT INTO audit_events (request_id, admin_id, actor, action, comment, before, after, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		id, actor.AdminID, actor.Name, action, strings.TrimSpace(comment), b, a, after.UpdatedAt)
	if err != nil {
		return fmt.Errorf("writing audit event: %w", err)
	}
	return nil
}

// auditView is the part of a request whose changes the audit trail records.
func auditView(l *domain.LoanRequest) map[string]any {
	return map[string]any{
		"status": l.Status, "reason": l.Reason, "score": l.Score,
		"decided_at": l.DecidedAt, "decided_by": l.DecidedBy, "deleted_at": l.DeletedAt,
	}
}

// ListLoans returns one page of requests, newest first, from the cursor
// on (keyset: a deep page reads what the first does), and their total:
// a search's first page in one statement with its total (SearchPageQuery),
// anything else as two statements at once on two connections.
func (db *DB) ListLoans(ctx context.Context, f domain.Filter) (domain.Page, error) {
	if q, ok := SearchPageQuery(f); ok {
		var n int
		items, err := db.listed(ctx, q, &n)
		if err != nil {
			return domain.Page{}, translate(err, "listing loan requests")
		}
		return newPage(f, items, n), nil
	}
	type counted struct {
		n   int
		err error
	}
	total := make(chan counted, 1)
	go func() {
		var c counted
		q := CountQuery(f)
		c.err = db.pool.QueryRow(ctx, q.SQL, planned(q.Args)...).Scan(&c.n)
		total <- c
	}()
	items, err := db.listed(ctx, ListQuery(f))
	c := <-total
	if err == nil {
		err = c.err
	}
	if err != nil {
		return domain.Page{}, translate(err, "listing loan requests")
	}
	return newPage(f, items, c.n), nil
}

// listed runs a list query (planned for its values) and reads its
// requests, each row's extra columns into extra.
func (db *DB) listed(ctx context.Context, q Query, extra ...any) ([]domain.LoanRequest, error) {
	rows, err := db.pool.Query(ctx, q.SQL, planned(q.Args)...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (domain.LoanRequest, error) {
		l, err := scanLoan(r, extra...)
		if err != nil {
			return domain.LoanRequest{}, err
		}
		return *l, nil
	})
}

// newPage is a page of items (one more than asked: there is a next page)
// with n matches counted; a count that stopped past CountCap is "at least".
func newPage(f domain.Filter, items []domain.LoanRequest, n int) domain.Page {
	page := domain.Page{Items: items, Total: n}
	if !summarized(f) && n > domain.CountCap {
		page.Total, page.TotalAtLeast = domain.CountCap, true
	}
	if len(items) > f.Limit {
		page.Items = items[:f.Limit]
		last := page.Items[f.Limit-1]
		page.Next = &domain.Cursor{CreatedAt: last.CreatedAt, ID: last.ID}
	}
	return page
}

// SearchPageQuery reads a search's first page and its total in one
// statement: the matches, up to CountCap+1, in list order, counted by a
// window over them, and the page their first rows. Apart, the page and
// its count each read the start of the same matches (for a whole name,
// two pair lists merged) and each is planned: together they are read and
// planned once. Every row carries the total; no row, no match. Not for a
// later page (the cursor may lie past what is counted) nor without a
// search (the total comes from the daily counts): ok is false.
func SearchPageQuery(f domain.Filter) (q Query, ok bool) {
	if f.After != nil || strings.TrimSpace(f.Query) == "" || f.Limit > domain.CountCap {
		return Query{}, false
	}
	l := listFilter(f)
	sql := fmt.Sprintf(`SELECT %s, count(*) OVER () FROM (SELECT %s, %s AS k_at, %s AS k_id FROM %s WHERE %s ORDER BY %s LIMIT %d) m ORDER BY m.k_at DESC, m.k_id DESC LIMIT %s`,
		qualified("m", loanColumns), listColumns, l.at, l.id, l.from, strings.Join(l.where, " AND "), l.order(), domain.CountCap+1, l.arg(f.Limit+1))
	return Query{SQL: sql, Args: l.args}, true
}

// planned has PostgreSQL plan a list query for its values each time (an
// unnamed statement): which index serves a search or a date range depends
// on how many rows match, and a cached generic plan would pick one for all.
func planned(args []any) []any { return append([]any{pgx.QueryExecModeExec}, args...) }

// ListQuery reads one page (and one row more, to know whether a next page
// exists) in the order of the keyset indexes. Exported for tools/bench and
// the plan tests: what they measure is what the API runs.
func ListQuery(f domain.Filter) Query {
	l := listFilter(f)
	if f.After != nil {
		l.where = append(l.where, "("+l.at+", "+l.id+") < ("+l.arg(f.After.CreatedAt)+", "+l.arg(f.After.ID)+")")
	}
	// The SQL first: it adds the limit's argument (Go leaves the order of
	// a call and a field read in one literal unspecified).
	sql := `SELECT ` + listColumns + ` FROM ` + l.from + ` WHERE ` + strings.Join(l.where, " AND ") +
		` ORDER BY ` + l.order() + ` LIMIT ` + l.arg(f.Limit+1)
	return Query{SQL: sql, Args: l.args}
}

// order is the list order. With a status and nothing searched it leads
// with the status (one value, so the same order): only the status index
// gives it without a sort, so the planner cannot bet on walking the whole
// list for a status that is rare among the newest requests (measured at
// 10 M rows: "in review" read 30,000 newer decided requests, 34 ms, to
// return 21).
func (l *list) order() string {
	if l.byStatus {
		return "r.status, r.created_at DESC, r.id DESC"
	}
	return l.at + " DESC, " + l.id + " DESC"
}

// list is a filter as SQL: what to read, the conditions on arguments
// $1…, and the columns the list is ordered by.
type list struct {
	from     string
	where    []string
	args     []any
	at, id   string
	byStatus bool
}

func (l *list) arg(v any) string { l.args = append(l.args, v); return fmt.Sprintf("$%d", len(l.args)) }

// terms are the loan_words terms a search's words are found by, as SQL on
// arguments: the word alone, or pairs that cover every word ((1,2), (3,4),
// … and, for an odd count, the last two), folded as the triggers fold them.
func (l *list) terms(words []string) []string {
	fold := func(w string) string { return "loandesk_fold(" + l.arg(w) + ")" }
	if len(words) == 1 {
		return []string{fold(words[0])}
	}
	var terms []string
	pair := func(i, j int) { terms = append(terms, "loandesk_pair("+fold(words[i])+", "+fold(words[j])+")") }
	for i := 0; i+1 < len(words); i += 2 {
		pair(i, i+1)
	}
	if n := len(words); n%2 == 1 {
		pair(n-2, n-1)
	}
	return terms
}

var likeEscape = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

func listFilter(f domain.Filter) *list {
	l := &list{from: "loan_requests r", at: "r.created_at", id: "r.id"}
	search := domain.ParseSearch(f.Query)
	// Words: one range of loan_words per term, newest first, joined on
	// (created_at, request_id), so the planner merges them in list order.
	// Two words or more are looked up as pairs (a request's every pair of
	// words is a term, 00005): a short list each, even for words that are
	// common apart and rare together.
	for i, term := range l.terms(search.Words) {
		t := fmt.Sprintf("w%d", i+1)
		cond := t + ".word = " + term
		if i == 0 {
			l.from, l.at, l.id = "loan_words w1", "w1.created_at", "w1.request_id"
			l.where = append(l.where, cond)
			continue
		}
		l.from += " JOIN loan_words " + t + " ON " + cond + " AND " + t + ".created_at = w1.created_at AND " + t + ".request_id = w1.request_id"
	}
	if len(search.Words) > 0 {
		l.from += " JOIN loan_requests r ON r.id = w1.request_id"
	}
	// Digits: the start of a suffix of the document number (loan_documents,
	// 00005); a request whose number holds them twice is one match. The
	// matches, newest first, each fetch their request by its key (the
	// LATERAL with OFFSET 0 keeps it so): never a hash of the whole table,
	// which the planner picks when it guesses many matches in a small one.
	if search.Digits != "" {
		// loan_documents keeps suffixes of domain.MinDigits digits or more:
		// fewer digits would miss the numbers that end with them. Exactly
		// that many are one key of loan_documents_head (00007), whose
		// matches come newest first; more are a range of suffixes, a tenth
		// as many matches per digit, read whole and sorted.
		var match string
		if len(search.Digits) == domain.MinDigits {
			match = "left(suffix, " + strconv.Itoa(domain.MinDigits) + ") = " + l.arg(search.Digits)
		} else {
			match = "suffix LIKE " + l.arg(likeEscape.Replace(search.Digits)+"%")
		}
		l.from = "(SELECT DISTINCT created_at, request_id FROM loan_documents WHERE " + match +
			" ORDER BY created_at DESC, request_id DESC) d CROSS JOIN LATERAL (SELECT * FROM loan_requests x WHERE x.id = d.request_id OFFSET 0) r"
		l.at, l.id = "d.created_at", "d.request_id"
	}
	if f.Deleted {
		l.where = append(l.where, "r.deleted_at IS NOT NULL")
	} else {
		l.where = append(l.where, "r.deleted_at IS NULL")
	}
	if f.Status != "" && strings.TrimSpace(f.Query) == "" && !f.Deleted {
		// BETWEEN a value and itself is equality, but no constant the
		// planner folds into the order: see order.
		st := l.arg(string(f.Status))
		l.where = append(l.where, "r.status BETWEEN "+st+" AND "+st)
		l.byStatus = true
	} else if f.Status != "" {
		l.where = append(l.where, "r.status = "+l.arg(string(f.Status)))
	}
	if !f.From.IsZero() {
		l.where = append(l.where, l.at+" >= "+l.arg(f.From))
	}
	if !f.To.IsZero() {
		l.where = append(l.where, l.at+" < "+l.arg(f.To))
	}
	// The search text is a value, never SQL; LIKE wildcards in it are
	// literal.
	if search.Email != "" {
		l.where = append(l.where, "r.email LIKE "+l.arg(likeEscape.Replace(search.Email)+"%"))
	}
	if strings.TrimSpace(f.Query) != "" && search.Digits == "" && search.Email == "" && len(search.Words) == 0 {
		l.where = append(l.where, "false") // nothing searchable (the domain refuses it): no match
	}
	return l
}

// listColumns are a request's columns, read from the list's "r".
var listColumns = qualified("r", loanColumns)

// qualified prefixes each of a list of columns with a table.
func qualified(table, columns string) string {
	cols := strings.Split(columns, ",")
	for i, c := range cols {
		cols[i] = table + "." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}

// wholeDays reports whether t is a UTC midnight (or unset): a range of
// whole days can be counted from the daily summary.
func wholeDays(t time.Time) bool { return t.IsZero() || t.Equal(t.UTC().Truncate(24*time.Hour)) }

// summarized reports whether the daily counts can total the filter: no
// search, and a range of whole days.
func summarized(f domain.Filter) bool {
	return strings.TrimSpace(f.Query) == "" && wholeDays(f.From) && wholeDays(f.To)
}

// CountQuery totals the filter's matches without reading the table: from
// the daily summary when it can (no search, whole days), else by counting
// at most CountCap+1 matches (a result over CountCap means "at least").
func CountQuery(f domain.Filter) Query {
	if summarized(f) {
		c := &list{}
		c.where = []string{"deleted = " + c.arg(f.Deleted)}
		if f.Status != "" {
			c.where = append(c.where, "status = "+c.arg(string(f.Status)))
		}
		if !f.From.IsZero() {
			c.where = append(c.where, "day >= "+c.arg(f.From.UTC().Format(time.DateOnly))+"::date")
		}
		if !f.To.IsZero() {
			c.where = append(c.where, "day < "+c.arg(f.To.UTC().Format(time.DateOnly))+"::date")
		}
		return Query{SQL: `SELECT coalesce(sum(n), 0)::bigint FROM loan_counts WHERE ` + strings.Join(c.where, " AND "), Args: c.args}
	}
	// In list order: the count reads the range the page just read, through
	// the same index, never a scan that the planner hopes stops early.
	l := listFilter(f)
	return Query{SQL: fmt.Sprintf(`SELECT count(*) FROM (SELECT 1 FROM %s WHERE %s ORDER BY %s LIMIT %d) m`,
		l.from, strings.Join(l.where, " AND "), l.order(), domain.CountCap+1), Args: l.args}
}

// AuditTrail lists a request's events, oldest first.
func (db *DB) AuditTrail(ctx context.Context, requestID int64) ([]domain.AuditEvent, error) {
	rows, err := db.pool.Query(ctx, `
		SELECT id, request_id, actor, action, comment, before, after, created_at
		FROM audit_events WHERE request_id = $1 ORDER BY id`, requestID)
	if err != nil {
		return nil, translate(err, "audit trail")
	}
	events, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (domain.AuditEvent, error) {
		var e domain.AuditEvent
		err := r.Scan(&e.ID, &e.RequestID, &e.Actor, &e.Action, &e.Comment, &e.Before, &e.After, &e.CreatedAt)
		return e, err
	})
	return events, translate(err, "audit trail")
}

// Stats counts live requests by status, and the deleted ones, from the
// summary the trigger keeps (a few rows a day, whatever the table holds).
func (db *DB) Stats(ctx context.Context) (domain.Stats, error) {
	var s domain.Stats
	err := db.pool.QueryRow(ctx, StatsQuery.SQL).Scan(&s.InReview, &s.Approved, &s.Rejected, &s.Deleted)
	return s, translate(err, "stats")
}

// FoldCounts adds the shard rows of every day before today (UTC) into
// its shard 0, in one statement: today's filings spread over many rows so
// that they never wait for each other; past days need one. Rows a change
// holds right now are left for the next fold, and shard 0 (which only
// folds write) is taken in key order, so a fold never deadlocks with a
// change or another fold. It returns the rows written to shard 0.
func (db *DB) FoldCounts(ctx context.Context) (int64, error) {
	tag, err := db.pool.Exec(ctx, `
		WITH moved AS (
			DELETE FROM loan_counts WHERE ctid = ANY (ARRAY(
				SELECT ctid FROM loan_counts WHERE day < (now() AT TIME ZONE 'UTC')::date AND shard <> 0
				FOR UPDATE SKIP LOCKED))
			RETURNING day, status, deleted, n
		)
		INSERT INTO loan_counts AS c (day, status, deleted, shard, n)
		SELECT day, status, deleted, 0, sum(n) FROM moved GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
		ON CONFLICT (day, status, deleted, shard) DO UPDATE SET n = c.n + excluded.n`)
	return tag.RowsAffected(), translate(err, "folding the daily counts")
}

// StatsQuery sums the daily counts.
var StatsQuery = Query{SQL: `
	SELECT coalesce(sum(n) FILTER (WHERE status = 'in_review' AND NOT deleted), 0),
	       coalesce(sum(n) FILTER (WHERE status = 'approved' AND NOT deleted), 0),
	       coalesce(sum(n) FILTER (WHERE status = 'rejected' AND NOT deleted), 0),
	       coalesce(sum(n) FILTER (WHERE deleted), 0)
	FROM loan_counts`}

// DailyCounts are the live requests filed per day in [from, to), by status.
func (db *DB) DailyCounts(ctx context.Context, from, to time.Time) ([]domain.DayCount, error) {
	rows, err := db.pool.Query(ctx, `
		SELECT day, coalesce(sum(n) FILTER (WHERE status = 'in_review'), 0),
		       coalesce(sum(n) FILTER (WHERE status = 'approved'), 0),
		       coalesce(sum(n) FILTER (WHERE status = 'rejected'), 0)
		FROM loan_counts WHERE NOT deleted AND day >= $1 AND day < $2
		GROUP BY day ORDER BY day`, from, to)
	if err != nil {
		return nil, translate(err, "daily counts")
	}
	days, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (domain.DayCount, error) {
		var c domain.DayCount
		err := r.Scan(&c.Day, &c.InReview, &c.Approved, &c.Rejected)
		return c, err
	})
	return days, translate(err, "daily counts")
}
