package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/loandesk/loandesk/internal/domain"
)

// wholeDays reports whether t is a UTC midnight (or unset): a range of
// whole days can be counted from the daily summary.
func wholeDays(t time.Time) bool { return t.IsZero() || t.Equal(t.UTC().Truncate(24*time.Hour)) }

// summarized reports whether the daily counts can total the filter: no
// search, and a range of whole days.
func summarized(f domain.Filter) bool {
	return strings.TrimSpace(f.Query) == "" && wholeDays(f.From) && wholeDays(f.To)
}

// countQuery totals the filter's matches without reading the table: from
// the daily summary when it can (no search, whole days), else by counting
// at most CountCap+1 matches (a result over CountCap means "at least").
func countQuery(f domain.Filter) Query {
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
