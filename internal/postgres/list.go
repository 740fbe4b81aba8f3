package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/loandesk/loandesk/internal/domain"
)

// ListPlan is the statements ListLoans runs for a filter: a search's first
// page with its total in one (searchPageQuery), or else the page and its
// total (listQuery, countQuery), run at once on two connections. Exported
// for tools/bench, which runs the same under pgbench.
func ListPlan(f domain.Filter) []Query {
	if q, ok := searchPageQuery(f); ok {
		return []Query{q}
	}
	return []Query{listQuery(f), countQuery(f)}
}

// ListLoans returns one page of requests, newest first, from the cursor
// on (keyset: a deep page reads what the first does), and their total, by
// ListPlan.
func (db *DB) ListLoans(ctx context.Context, f domain.Filter) (domain.Page, error) {
	plan := ListPlan(f)
	if len(plan) == 1 {
		var n int
		items, err := db.listed(ctx, plan[0], &n)
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
		c.err = db.pool.QueryRow(ctx, plan[1].SQL, planned(plan[1].Args)...).Scan(&c.n)
		total <- c
	}()
	items, err := db.listed(ctx, plan[0])
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

// searchPageQuery reads a search's first page and its total in one
// statement: the matches, up to CountCap+1, in list order, counted by a
// window over them, and the page their first rows. Apart, the page and
// its count each read the start of the same matches (for a whole name,
// two pair lists merged) and each is planned: together they are read and
// planned once. Every row carries the total; no row, no match. Not for a
// later page (the cursor may lie past what is counted) nor without a
// search (the total comes from the daily counts): ok is false.
func searchPageQuery(f domain.Filter) (q Query, ok bool) {
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

// listQuery reads one page (and one row more, to know whether a next page
// exists) in the order of the keyset indexes.
func listQuery(f domain.Filter) Query {
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
