package postgres_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/loandesk/loandesk/internal/domain"
	"github.com/loandesk/loandesk/internal/postgres"
	"github.com/loandesk/loandesk/internal/testenv"
)

// Erasure reaches every copy: an applicant's requests are filed, searched,
// shown, decided with a comment that names them, and claimed; after the
// erasure no column of any table (the search tables, the audit trail, the
// security log, the claims, River's jobs) holds their document number,
// email, name or the fingerprint made from them; the other applicant is
// whole and the counts did not move.
// reviewer is an admin account and the desk it works at, on db.
func reviewer(t *testing.T, db *postgres.DB) (*domain.Desk, *domain.Admin, domain.Actor) {
	t.Helper()
	admin, err := db.AddAdmin(context.Background(), "revisora@example.com", domain.HashPassword("first-password-long"))
	if err != nil {
		t.Fatal(err)
	}
	return &domain.Desk{Store: db, Views: db, Erasure: db}, admin, domain.Actor{AdminID: &admin.ID, Name: admin.Email}
}

func TestErasureReachesEveryCopy(t *testing.T) {
	db, ctx := testenv.DB(t), context.Background()
	desk, admin, actor := reviewer(t, db)
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
// An erasure whose database connection dies mid-way (its backend killed
// while the statement waits on a filing claim another transaction holds,
// the request rows already updated in it) leaves the applicant whole:
// nothing half-erased, no event; the same erasure afterwards does it all.
func TestAnErasureKilledMidWayLeavesTheApplicantWhole(t *testing.T) {
	db, ctx := testenv.DB(t), context.Background()
	var ids []int64
	for _, key := range []string{"kill-erase-001", "kill-erase-002"} {
		l := newLoan(key, "Matías Interrumpido", "30888111", time.Now().UTC())
		l.Fingerprint = l.Application.Fingerprint()
		if _, err := db.ClaimFiling(ctx, key, l.Fingerprint, time.Hour); err != nil {
			t.Fatal(err)
		}
		saved, _, err := db.CreateLoan(ctx, l)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, saved.ID)
	}
	needles := []string{"30888111", "Interrumpido"}
	before := scan(t, db.Pool(), needles)
	holder, err := db.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = holder.Rollback(ctx) }()
	if _, err := holder.Exec(ctx, `SELECT 1 FROM filing_claims WHERE idempotency_key = 'kill-erase-002' FOR UPDATE`); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := db.EraseApplicant(ctx, ids[0], "30888111", domain.System, domain.SecurityEvent{Kind: domain.EventApplicantErased})
		done <- err
	}()
	var pid int
	for pid == 0 {
		select {
		case err := <-done:
			t.Fatalf("the erasure ended (%v) without waiting on the held claim", err)
		default:
		}
		err := db.Pool().QueryRow(ctx, `SELECT coalesce(max(pid), 0) FROM pg_stat_activity
			WHERE wait_event_type = 'Lock' AND query LIKE '%filing_claims%' AND pid <> pg_backend_pid()`).Scan(&pid)
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Pool().Exec(ctx, `SELECT pg_terminate_backend($1)`, pid); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err == nil {
		t.Fatal("the erasure whose backend was killed reported success")
	}
	_ = holder.Rollback(ctx)
	if after := scan(t, db.Pool(), needles); !slices.Equal(after, before) {
		t.Fatalf("after the killed erasure the copies are %q, before %q", after, before)
	}
	for _, id := range ids {
		if l, _ := db.LoanByID(ctx, id); l.ErasedAt != nil || l.FullName == "" {
			t.Fatalf("request %d half-erased: %+v", id, l)
		}
	}
	if n, err := db.EraseApplicant(ctx, ids[0], "30888111", domain.System, domain.SecurityEvent{Kind: domain.EventApplicantErased}); err != nil || n != 2 {
		t.Fatalf("the erasure again = %d %v, want both requests", n, err)
	}
	if left := scan(t, db.Pool(), needles); len(left) != 0 {
		t.Fatalf("after the erasure: %q", left)
	}
}

// An admin's status change, delete and restore are in the append-only
// security log with the request's id, and stay there when the applicant
// is erased (the trail's comments go); the worker's decisions are not.
func TestAnAdminsChangesToARequestAreInTheSecurityLog(t *testing.T) {
	db, ctx := testenv.DB(t), context.Background()
	desk, admin, actor := reviewer(t, db)
	l, _, err := db.CreateLoan(ctx, newLoan("logged-changes-1", "Lucía Registrada", "30777111", time.Now().UTC()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.UpdateLoan(ctx, l.ID, domain.System, func(l *domain.LoanRequest) (string, string, error) {
		return domain.ActionDecide, "", l.ApplyDecision(domain.Decision{Status: domain.StatusApproved, Reason: domain.ReasonScore}, time.Now())
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := desk.ChangeStatus(ctx, actor, l.ID, domain.StatusRejected, "Lucía Registrada: recibo falso"); err != nil {
		t.Fatal(err)
	}
	if _, err := desk.DeleteRequest(ctx, actor, l.ID, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := desk.RestoreRequest(ctx, actor, l.ID, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := desk.EraseApplicant(ctx, actor, l.ID, "30777111"); err != nil {
		t.Fatal(err)
	}
	events, err := db.SecurityEvents(ctx, domain.AuditFilter{RequestID: l.ID, Limit: 10})
	var kinds []string
	for _, e := range events {
		if e.AdminID == nil || *e.AdminID != admin.ID {
			t.Errorf("event %+v names no admin", e)
		}
		kinds = append(kinds, e.Kind)
	}
	if want := []string{"applicant_erased", "request_restored", "request_deleted", "request_status_changed"}; err != nil || !slices.Equal(kinds, want) {
		t.Fatalf("the request's security events %q %v, want %q", kinds, err, want)
	}
}

// 200 password changes at once from sessions of one epoch: one wins, the
// others change nothing, and the log has one line.
func TestOneOf200RacingPasswordChangesWins(t *testing.T) {
	db, ctx := testenv.DB(t), context.Background()
	ana, err := db.AddAdmin(ctx, "ana@example.com", domain.HashPassword("first-password-long"))
	if err != nil {
		t.Fatal(err)
	}
	hash := domain.HashPassword("second-password-long")
	var won atomic.Int32
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() {
			_, err := db.SetPassword(ctx, ana.ID, hash, 0, domain.SecurityEvent{Kind: domain.EventPasswordChanged, Client: fmt.Sprint(i)})
			switch {
			case err == nil:
				won.Add(1)
			case domain.ErrorCode(err) != domain.ENOTFOUND:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got, _ := db.AdminByID(ctx, ana.ID)
	events, _ := db.SecurityEvents(ctx, domain.AuditFilter{AdminID: ana.ID, Limit: 300})
	if won.Load() != 1 || got.SessionEpoch != 1 || len(events) != 2 {
		t.Fatalf("%d changes won, epoch %d, %d events; want 1, 1, 2 (added, changed)", won.Load(), got.SessionEpoch, len(events))
	}
}

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
