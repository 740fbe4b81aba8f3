package postgres_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/loandesk/loandesk/internal/domain"
	"github.com/loandesk/loandesk/internal/testenv"
)

// Erasure reaches every copy: an applicant's requests are filed, searched,
// shown, decided with a comment that names them, and claimed; after the
// erasure no column of any table (the search tables, the audit trail, the
// security log, the claims, River's jobs) holds their document number,
// email, name or the fingerprint made from them; the other applicant is
// whole and the counts did not move.
func TestErasureReachesEveryCopy(t *testing.T) {
	db, ctx := testenv.DB(t), context.Background()
	admin, err := db.AddAdmin(ctx, "revisora@example.com", domain.HashPassword("first-password-long"))
	if err != nil {
		t.Fatal(err)
	}
	actor := domain.Actor{AdminID: &admin.ID, Name: admin.Email}
	desk := &domain.Desk{Store: db, Views: db, Erasure: db}
	file := func(key, name, email, doc string) *domain.LoanRequest {
		l := newLoan(key, name, doc, time.Now().UTC())
		l.Email = email
		l.Fingerprint = l.Application.Fingerprint()
		// As a filing does: its key claimed, then the request saved.
		if _, err := db.ClaimFiling(ctx, key, l.Fingerprint, time.Hour); err != nil {
			t.Fatal(err)
		}
		saved, _, err := db.CreateLoan(ctx, l)
		if err != nil {
			t.Fatal(err)
		}
		return saved
	}
	first := file("erase-me-0001", "Érasmo Borrable", "erasmo.borrable@example.com", "30999111")
	second := file("erase-me-0002", "Érasmo Borrable", "erasmo.borrable@example.com", "30999111")
	other := file("keep-me-00001", "Quedó Intacta", "quedo.intacta@example.com", "27555444")
	fingerprint := first.Fingerprint
	if _, err := desk.ChangeStatus(ctx, actor, first.ID, domain.StatusRejected, "Érasmo Borrable no presentó recibo"); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"30.999.111", "erasmo.borrable@example.com", "Borrable"} {
		if _, err := desk.List(ctx, actor, domain.ListQuery{Q: q}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := desk.Detail(ctx, actor, second.ID); err != nil {
		t.Fatal(err)
	}
	stats, _ := db.Stats(ctx)
	today := time.Now().UTC().Truncate(24 * time.Hour)
	days, _ := db.DailyCounts(ctx, today, today.AddDate(0, 0, 1))

	// The DNI, its shortest searchable suffix, the name's words as typed
	// and as folded for search, the email, the fingerprint: before the
	// erasure the scan finds each of them (in the row, the search tables,
	// the comment, the claims).
	needles := []string{"30999111", "9111", "Érasmo", "erasmo", "borrable", fingerprint}
	before := scan(t, db.Pool(), needles)
	for _, want := range []string{"loan_requests.document_number", "loan_documents.suffix", "loan_words.", "audit_events.comment", "filing_claims.fingerprint", "loan_requests.fingerprint"} {
		if !slices.ContainsFunc(before, func(f string) bool { return strings.HasPrefix(f, want) }) {
			t.Fatalf("before the erasure the scan does not find %s: %q", want, before)
		}
	}

	if _, err := desk.EraseApplicant(ctx, actor, second.ID, "27.555.444"); domain.ErrorCode(err) != domain.EINVALID {
		t.Fatalf("erasing with another applicant's number: %v, want EINVALID", err)
	}
	done, err := desk.EraseApplicant(ctx, actor, second.ID, "30.999.111")
	if err != nil || done.Requests != 2 || done.Request.ErasedAt == nil || done.Request.FullName != "" {
		t.Fatalf("EraseApplicant = %+v %v, want both requests erased", done, err)
	}
	if _, err := desk.EraseApplicant(ctx, actor, first.ID, "30999111"); domain.ErrorCode(err) != domain.ECONFLICT {
		t.Fatalf("erasing again: %v, want ECONFLICT", err)
	}

	for _, found := range scan(t, db.Pool(), needles) {
		t.Errorf("erased data is still stored: %s", found)
	}
	// The other applicant is whole, and found by search.
	if l, _ := db.LoanByID(ctx, other.ID); l.FullName != "Quedó Intacta" || l.DocumentNumber != "27555444" || l.ErasedAt != nil {
		t.Fatalf("the other applicant: %+v", l)
	}
	for _, q := range []string{"27555444", "intacta", "quedo.intacta@example.com"} {
		if p, err := desk.List(ctx, actor, domain.ListQuery{Q: q}); err != nil || len(p.Items) != 1 || p.Items[0].ID != other.ID {
			t.Fatalf("search %q after the erasure: %+v %v", q, p.Items, err)
		}
	}
	if p, _ := desk.List(ctx, actor, domain.ListQuery{Q: "30999111"}); len(p.Items) != 0 {
		t.Fatalf("the erased applicant is still found: %+v", p.Items)
	}
	if s, _ := db.Stats(ctx); s != stats {
		t.Fatalf("stats %+v after the erasure, %+v before", s, stats)
	}
	if d, _ := db.DailyCounts(ctx, today, today.AddDate(0, 0, 1)); !reflect.DeepEqual(d, days) {
		t.Fatalf("daily counts %+v after the erasure, %+v before", d, days)
	}
	// Each request says it was erased, and by whom; the log says who asked.
	for _, id := range []int64{first.ID, second.ID} {
		trail, _ := db.AuditTrail(ctx, id)
		if last := trail[len(trail)-1]; last.Action != domain.ActionErase || last.Actor != admin.Email {
			t.Fatalf("request %d's trail ends %+v", id, last)
		}
	}
	events, _ := db.SecurityEvents(ctx, domain.AuditFilter{RequestID: second.ID, Limit: 1})
	if len(events) != 1 || events[0].Kind != domain.EventApplicantErased || events[0].AdminEmail != admin.Email {
		t.Fatalf("the security log: %+v", events)
	}
}

// scan reads every text, character and JSON column of every table in the
// database's public schema, and returns "table.column: value" for each value
// that holds one of the needles (case and accent as stored).
func scan(t *testing.T, pool *pgxpool.Pool, needles []string) []string {
	t.Helper()
	ctx := context.Background()
	rows, err := pool.Query(ctx, `SELECT table_name, column_name FROM information_schema.columns c
		JOIN information_schema.tables USING (table_schema, table_name)
		WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
			AND (data_type IN ('text', 'character varying', 'jsonb', 'json') OR data_type = 'ARRAY')`)
	if err != nil {
		t.Fatal(err)
	}
	columns, err := pgx.CollectRows(rows, pgx.RowToStructByPos[struct{ Table, Column string }])
	if err != nil || len(columns) < 10 {
		t.Fatalf("columns %v %v", columns, err)
	}
	var found []string
	for _, c := range columns {
		for _, n := range needles {
			q := fmt.Sprintf(`SELECT %s::text FROM %s WHERE %s::text ILIKE '%%' || $1 || '%%' LIMIT 1`,
				pgx.Identifier{c.Column}.Sanitize(), pgx.Identifier{c.Table}.Sanitize(), pgx.Identifier{c.Column}.Sanitize())
			var v string
			switch err := pool.QueryRow(ctx, q, n).Scan(&v); {
			case err == nil:
				found = append(found, c.Table+"."+c.Column+": "+v)
			case err != pgx.ErrNoRows:
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
	return found
}

// The retention's batch: oldest first by decision, or by filing for a
// request never decided; a request within it, or erased already, is left.
func TestEraseExpiredTakesTheOldestFirst(t *testing.T) {
	db, ctx := testenv.DB(t), context.Background()
	now := time.Now().UTC()
	undecided, _, _ := db.CreateLoan(ctx, newLoan("expired-undecided", "Nunca Decidida", "30222111", now.AddDate(-2, 0, 0)))
	decided := newLoan("expired-decided", "Decidida Vieja", "30222333", now.AddDate(-3, 0, 0))
	decidedAt := now.AddDate(-1, -1, 0)
	decided.Status, decided.Reason, decided.DecidedAt = domain.StatusRejected, domain.ReasonScore, &decidedAt
	old, _, _ := db.CreateLoan(ctx, decided)
	recent, _, _ := db.CreateLoan(ctx, newLoan("recent-request", "Reciente Intacta", "30222444", now))
	cutoff := now.AddDate(-1, 0, 0)
	for i, want := range []int64{undecided.ID, old.ID} {
		n, err := db.EraseExpired(ctx, cutoff, 1)
		if err != nil || n != 1 {
			t.Fatalf("batch %d: %d %v", i, n, err)
		}
		if l, _ := db.LoanByID(ctx, want); l.ErasedAt == nil || l.FullName != "" {
			t.Fatalf("batch %d did not erase request %d (the oldest left): %+v", i, want, l)
		}
	}
	if n, err := db.EraseExpired(ctx, cutoff, 10); n != 0 || err != nil {
		t.Fatalf("nothing left past the retention, yet %d erased (%v)", n, err)
	}
	if l, _ := db.LoanByID(ctx, recent.ID); l.ErasedAt != nil || l.FullName != "Reciente Intacta" {
		t.Fatalf("a recent request: %+v", l)
	}
}
