package postgres_test

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/loandesk/loandesk/internal/domain"
	"github.com/loandesk/loandesk/internal/postgres"
	"github.com/loandesk/loandesk/internal/testenv"
)

func newLoan(key, name, doc string, created time.Time) *domain.LoanRequest {
	a := domain.Application{FullName: name, Email: "ana@example.com", DocumentNumber: doc, Gender: "F", Amount: 50000}
	return &domain.LoanRequest{TrackingCode: domain.NewTrackingCode(), Application: a, Status: domain.StatusInReview,
		IdempotencyKey: key, Fingerprint: a.Fingerprint(), CreatedAt: created, UpdatedAt: created}
}

func TestCreateIsIdempotentPerKey(t *testing.T) {
	db, ctx := testenv.DB(t), context.Background()
	first, existed, err := db.CreateLoan(ctx, newLoan("key-00000001", "Ana Uno", "30123950", time.Now()))
	if err != nil || existed {
		t.Fatalf("first create: existed=%v err=%v", existed, err)
	}
	again, existed, err := db.CreateLoan(ctx, newLoan("key-00000001", "Ana Uno", "30123950", time.Now()))
	if err != nil || !existed || again.ID != first.ID || again.TrackingCode != first.TrackingCode {
		t.Fatalf("repeat: existed=%v id %d vs %d, err=%v", existed, again.ID, first.ID, err)
	}
}

// A save tried again after its first attempt committed unseen (its
// connection died on the way back: onPrimary) finds its own row: that is
// this call's filing, not another call's, so no replay.
func TestASaveThatFindsItsOwnRowIsNoReplay(t *testing.T) {
	db, ctx := testenv.DB(t), context.Background()
	decided := newLoan("own-row-decided", "Ana Propia", "30123950", time.Now())
	if err := decided.ApplyDecision(domain.Decision{Status: domain.StatusInReview, Reason: domain.ReasonManual}, time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, l := range []*domain.LoanRequest{newLoan("own-row-queued", "Ana Propia", "30123950", time.Now()), decided} {
		first, existed, err := db.CreateLoan(ctx, l)
		if err != nil || existed {
			t.Fatalf("%s: first save: existed=%v err=%v", l.IdempotencyKey, existed, err)
		}
		again, existed, err := db.CreateLoan(ctx, l) // the same call's second attempt
		if err != nil || existed || again.ID != first.ID {
			t.Fatalf("%s: the same save again: existed=%v id %d vs %d, err=%v, want its own row, no replay",
				l.IdempotencyKey, existed, again.ID, first.ID, err)
		}
	}
}

// A claim tried again after its first attempt committed unseen is the same
// call's (ClaimFiling passes one token to all its attempts): won again, not
// waited out as another call's; a different call still finds it held.
func TestAClaimThatFindsItsOwnTokenIsWonAgain(t *testing.T) {
	db, ctx := testenv.DB(t), context.Background()
	claim := func(token string) (won bool, holder *string) {
		t.Helper()
		var id *int64
		q := postgres.ClaimQuery("own-claim-0001", "fp-1", token, time.Minute)
		if err := db.Pool().QueryRow(ctx, q.SQL, q.Args...).Scan(&won, &holder, &id); err != nil {
			t.Fatal(err)
		}
		return won, holder
	}
	if won, _ := claim("call-1"); !won {
		t.Fatal("first attempt: not won")
	}
	if won, _ := claim("call-1"); !won {
		t.Fatal("the same call's second attempt (its first committed unseen): not won, want its own claim")
	}
	if won, holder := claim("call-2"); won || holder == nil || *holder != "fp-1" {
		t.Fatalf("another call: won=%v holder=%v, want held by fp-1", won, holder)
	}
}

func TestConcurrentRepeatsMakeExactlyOneRow(t *testing.T) {
	db, ctx := testenv.DB(t), context.Background()
	const n = 20
	ids := make(chan int64, n)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, _, err := db.CreateLoan(ctx, newLoan("same-key-123", "Ana Concurrente", "30123950", time.Now()))
			if err != nil {
				t.Error(err)
				return
			}
			ids <- l.ID
		}()
	}
	wg.Wait()
	close(ids)
	seen := map[int64]bool{}
	for id := range ids {
		seen[id] = true
	}
	page, err := db.ListLoans(ctx, domain.Filter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1 || page.Total != 1 {
		t.Fatalf("%d distinct ids, %d rows; want exactly one", len(seen), page.Total)
	}
	for id := range seen {
		if n := jobsFor(t, db, id); n != 1 {
			t.Fatalf("%d decision jobs for the one request, want 1", n)
		}
	}
}

func TestUpdateWritesAuditTrailAtomically(t *testing.T) {
	db, ctx := testenv.DB(t), context.Background()
	l, _, _ := db.CreateLoan(ctx, newLoan("key-audit-1", "Ana Audit", "30123950", time.Now()))
	admin, _ := db.EnsureAdmin(ctx, "boss@example.com", domain.HashPassword("pw-pw-pw-pw-pw"))
	if !admin {
		t.Fatal("admin not created")
	}
	a, _ := db.AdminByEmail(ctx, "boss@example.com")
	actor := domain.Actor{AdminID: &a.ID, Name: a.Email}
	now := time.Now().UTC()
	if _, err := db.UpdateLoan(ctx, l.ID, actor, func(l *domain.LoanRequest) (string, string, error) {
		return domain.ActionStatus, "papers ok", l.SetStatus(domain.StatusApproved, "papers ok", actor.Name, now)
	}); err != nil {
		t.Fatal(err)
	}
	// A failing update changes nothing and records nothing.
	_, err := db.UpdateLoan(ctx, l.ID, actor, func(l *domain.LoanRequest) (string, string, error) {
		l.Status = domain.StatusRejected
		return domain.ActionStatus, "x", domain.Errorf(domain.ECONFLICT, "nope")
	})
	if domain.ErrorCode(err) != domain.ECONFLICT {
		t.Fatalf("err = %v, want the update function's ECONFLICT", err)
	}
	got, _ := db.LoanByID(ctx, l.ID)
	if got.Status != domain.StatusApproved || got.DecidedBy != "boss@example.com" {
		t.Fatalf("stored %+v", got)
	}
	events, err := db.AuditTrail(ctx, l.ID)
	if err != nil || len(events) != 1 {
		t.Fatalf("events = %+v, err %v; want one", events, err)
	}
	e := events[0]
	if e.Actor != "boss@example.com" || e.Action != domain.ActionStatus || e.Comment != "papers ok" ||
		e.Before["status"] != "in_review" || e.After["status"] != "approved" {
		t.Fatalf("event = %+v", e)
	}
	if _, err := db.UpdateLoan(ctx, 999999, actor, nil); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Fatalf("missing id: err = %v, want ENOTFOUND", err)
	}
}

func TestTrackingCodeHidesDeleted(t *testing.T) {
	db, ctx := testenv.DB(t), context.Background()
	l, _, _ := db.CreateLoan(ctx, newLoan("key-del-001", "Ana Borrada", "30123950", time.Now()))
	if _, err := db.LoanByTrackingCode(ctx, l.TrackingCode); err != nil {
		t.Fatal(err)
	}
	_, _ = db.UpdateLoan(ctx, l.ID, domain.System, func(l *domain.LoanRequest) (string, string, error) {
		return domain.ActionDelete, "", l.Delete(time.Now())
	})
	if _, err := db.LoanByTrackingCode(ctx, l.TrackingCode); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Fatalf("deleted request visible by tracking code: %v", err)
	}
	p, _ := db.ListLoans(ctx, domain.Filter{Deleted: true, Limit: 10})
	if p.Total != 1 {
		t.Fatalf("deleted list total = %d", p.Total)
	}
}

// jobsFor counts the decision jobs of a request, in any state.
func jobsFor(t *testing.T, db *postgres.DB, id int64) int {
	t.Helper()
	var n int
	err := db.Pool().QueryRow(context.Background(),
		`SELECT count(*) FROM river_job WHERE kind = 'decide' AND (args->>'request_id')::bigint = $1`, id).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestUndecidedRequestIsSavedWithItsJob(t *testing.T) {
	db, ctx := testenv.DB(t), context.Background()
	l, existed, err := db.CreateLoan(ctx, newLoan("key-job-1", "Ana Encolada", "30123950", time.Now()))
	if err != nil || existed {
		t.Fatalf("create: existed=%v err=%v", existed, err)
	}
	if n := jobsFor(t, db, l.ID); n != 1 {
		t.Fatalf("%d decision jobs for an undecided request, want 1", n)
	}
	if events, _ := db.AuditTrail(ctx, l.ID); len(events) != 0 {
		t.Fatalf("undecided request has audit events: %+v", events)
	}
	// A repeat of the key writes nothing: no second row, no second job.
	if _, existed, err := db.CreateLoan(ctx, newLoan("key-job-1", "Ana Encolada", "30123950", time.Now())); err != nil || !existed {
		t.Fatalf("repeat: existed=%v err=%v", existed, err)
	}
	if n := jobsFor(t, db, l.ID); n != 1 {
		t.Fatalf("%d jobs after a repeated key, want 1", n)
	}
	q, err := db.QueueDepth(ctx)
	if err != nil || q.Ready != 1 || q.Total() != 1 {
		t.Fatalf("queue depth %+v, %v; want one ready job", q, err)
	}
	// The ages the stalled-queue alerts read: the ready job's wait since it
	// became ready, and the oldest job's age since its filing.
	if _, err := db.Pool().Exec(ctx, `UPDATE river_job SET scheduled_at = now() - interval '90 seconds', created_at = now() - interval '10 minutes'
		WHERE kind = 'decide' AND (args->>'request_id')::bigint = $1`, l.ID); err != nil {
		t.Fatal(err)
	}
	q, err = db.QueueDepth(ctx)
	if err != nil || q.OldestReady < 89*time.Second || q.OldestReady > 100*time.Second || q.Oldest < 599*time.Second || q.Oldest > 610*time.Second {
		t.Fatalf("queue ages %+v, %v; want about 90 s ready and 10 min old", q, err)
	}
}

func TestDecidedRequestIsSavedWithItsAuditEventAndNoJob(t *testing.T) {
	db, ctx := testenv.DB(t), context.Background()
	l := newLoan("key-decided-1", "Ana Aprobada", "30123950", time.Now().UTC())
	score := 700
	if err := l.ApplyDecision(domain.Decision{Status: domain.StatusApproved, Reason: domain.ReasonScore, Score: &score}, time.Now().UTC()); err != nil {
		t.Fatal(err)
	}
	stored, _, err := db.CreateLoan(ctx, l)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Status != domain.StatusApproved || stored.DecidedAt == nil || stored.DecidedBy != "system" || *stored.Score != 700 {
		t.Fatalf("stored %+v", stored)
	}
	if n := jobsFor(t, db, stored.ID); n != 0 {
		t.Fatalf("%d jobs for a decided request, want 0", n)
	}
	events, err := db.AuditTrail(ctx, stored.ID)
	if err != nil || len(events) != 1 {
		t.Fatalf("events %+v, %v; want the decision", events, err)
	}
	if e := events[0]; e.Action != domain.ActionDecide || e.Actor != "system" || e.Before["status"] != "in_review" || e.After["status"] != "approved" {
		t.Fatalf("decision event %+v", e)
	}
}

// decided is a request the providers answered while it was filed.
func decided(key string) *domain.LoanRequest {
	l := newLoan(key, "Ana Decidida", "30123950", time.Now().UTC().Truncate(time.Microsecond))
	score := 720
	_ = l.ApplyDecision(domain.Decision{Status: domain.StatusApproved, Reason: domain.ReasonScore, Score: &score}, l.CreatedAt)
	return l
}

func TestConcurrentDecidedRepeatsMakeOneRowAndOneAuditEvent(t *testing.T) {
	db, ctx := testenv.DB(t), context.Background()
	const n = 20
	var wg sync.WaitGroup
	var created atomic.Int32
	ids := make(chan int64, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, existed, err := db.CreateLoan(ctx, decided("same-decided-key"))
			if err != nil {
				t.Error(err)
				return
			}
			if !existed {
				created.Add(1)
			}
			ids <- l.ID
		}()
	}
	wg.Wait()
	close(ids)
	first := <-ids
	for id := range ids {
		if id != first {
			t.Fatalf("repeats answered with requests %d and %d", first, id)
		}
	}
	if created.Load() != 1 {
		t.Fatalf("%d calls say they created the request, want 1", created.Load())
	}
	if events, err := db.AuditTrail(ctx, first); err != nil || len(events) != 1 {
		t.Fatalf("audit events %+v, %v; want exactly the one decision", events, err)
	}
}

func TestADecidedRequestIsNeverSavedWithoutItsAuditEvent(t *testing.T) {
	db, ctx := testenv.DB(t), context.Background()
	if _, err := db.Pool().Exec(ctx, `ALTER TABLE audit_events ADD CONSTRAINT refuse_all CHECK (false) NOT VALID`); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.CreateLoan(ctx, decided("key-no-audit")); err == nil {
		t.Fatal("saved a decided request whose audit event was refused")
	}
	if _, err := db.LoanByIdempotencyKey(ctx, "key-no-audit"); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Fatalf("the request outlived its refused audit event: %v", err)
	}
}

func TestARequestIsNeverSavedWithoutItsJob(t *testing.T) {
	db, ctx := testenv.DB(t), context.Background()
	// The job cannot be written (its table is gone): the request must not
	// be saved either, or it would wait for a worker that never comes.
	if _, err := db.Pool().Exec(ctx, `ALTER TABLE river_job RENAME TO river_job_gone`); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.CreateLoan(ctx, newLoan("key-no-job", "Ana Sin Cola", "30123950", time.Now())); err == nil {
		t.Fatal("saved a request whose job could not be written")
	}
	if _, err := db.Pool().Exec(ctx, `ALTER TABLE river_job_gone RENAME TO river_job`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.LoanByIdempotencyKey(ctx, "key-no-job"); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Fatalf("the request outlived its job's failed write: %v", err)
	}
	// And a check constraint refused by the database is the caller's mistake.
	l := newLoan("key-broken-1", "Ana Rota", "30123950", time.Now())
	l.Gender = "Q"
	if _, _, err := db.CreateLoan(ctx, l); domain.ErrorCode(err) != domain.EINVALID {
		t.Fatalf("err = %v, want EINVALID from the check constraint", err)
	}
}

func TestADatabaseThatDiesIsUnavailable(t *testing.T) {
	dbURL := testenv.DatabaseURL(t)
	proxy := testenv.NewProxy(t, testenv.HostPort(t, dbURL))
	db, err := postgres.Open(context.Background(), testenv.ThroughProxy(t, dbURL, proxy), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if _, _, err := db.CreateLoan(ctx, newLoan("key-before", "Ana Antes", "30123950", time.Now())); err != nil {
		t.Fatal(err)
	}
	proxy.Cut() // PostgreSQL dies: open connections reset, new ones refused
	for name, call := range map[string]func() error{
		"CreateLoan": func() error {
			_, _, err := db.CreateLoan(ctx, newLoan("key-after", "Ana Despues", "30123951", time.Now()))
			return err
		},
		"LoanByIdempotencyKey": func() error { _, err := db.LoanByIdempotencyKey(ctx, "key-before"); return err },
		"UpdateLoan": func() error {
			_, err := db.UpdateLoan(ctx, 1, domain.System, func(*domain.LoanRequest) (string, string, error) { return "x", "", nil })
			return err
		},
		"ListLoans":  func() error { _, err := db.ListLoans(ctx, domain.Filter{Limit: 5}); return err },
		"Stats":      func() error { _, err := db.Stats(ctx); return err },
		"QueueDepth": func() error { _, err := db.QueueDepth(ctx); return err },
		"Ping":       func() error { return db.Ping(ctx) },
	} {
		err := call()
		if e, ok := domain.AsError(err); !ok || e.Code != domain.EUNAVAILABLE || e.RetryAfter == 0 {
			t.Errorf("%s with PostgreSQL gone: %v, want EUNAVAILABLE with a retry hint", name, err)
		}
	}
}

func TestMigrateIsRepeatable(t *testing.T) {
	db := testenv.DB(t)
	if err := db.Migrate(context.Background(), testenv.Logger()); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
}

func TestTheConnectHookSurvivesAPasswordRotation(t *testing.T) {
	dbURL := testenv.DatabaseURL(t)
	ctx := context.Background()
	owner := testenv.DB(t) // any connection with rights to create roles
	role := "rotated_" + strconv.FormatInt(time.Now().UnixNano()%1e9, 10)
	if _, err := owner.Pool().Exec(ctx, `CREATE ROLE `+role+` LOGIN PASSWORD 'first-password'`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = owner.Pool().Exec(context.Background(), `DROP ROLE IF EXISTS `+role) })
	u, _ := url.Parse(dbURL)
	u.User = url.User(role)
	var current atomic.Value
	current.Store("first-password")
	hooked, err := postgres.Open(ctx, u.String(), func(context.Context) (string, error) { return current.Load().(string), nil })
	if err != nil {
		t.Fatal(err)
	}
	defer hooked.Close()
	u.User = url.UserPassword(role, "first-password")
	injected, err := postgres.Open(ctx, u.String(), nil) // a password read once, at start
	if err != nil {
		t.Fatal(err)
	}
	defer injected.Close()

	// The password rotates; existing connections live on, new ones need it.
	if _, err := owner.Pool().Exec(ctx, `ALTER ROLE `+role+` PASSWORD 'second-password'`); err != nil {
		t.Fatal(err)
	}
	current.Store("second-password")
	hooked.Pool().Reset()
	injected.Pool().Reset()
	if err := hooked.Ping(ctx); err != nil {
		t.Fatalf("the hook's new connection after the rotation: %v", err)
	}
	if err := injected.Ping(ctx); err == nil {
		t.Fatal("a password read at start still connects after the rotation: the test proves nothing")
	}
}

func TestTheAppRoleMayUseTheTablesButNotChangeThem(t *testing.T) {
	dbURL := testenv.DatabaseURL(t)
	ctx := context.Background()
	owner, err := postgres.Open(ctx, dbURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	role := "app_" + strconv.FormatInt(time.Now().UnixNano()%1e9, 10)
	t.Cleanup(func() {
		_, _ = owner.Pool().Exec(context.Background(), `DROP OWNED BY `+role)
		_, _ = owner.Pool().Exec(context.Background(), `DROP ROLE IF EXISTS `+role)
	})
	for range 2 { // idempotent
		if err := owner.EnsureAppRole(ctx, role, false, testenv.Logger()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := owner.Pool().Exec(ctx, `ALTER ROLE `+role+` PASSWORD 'app-password'`); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(dbURL)
	u.User = url.UserPassword(role, "app-password")
	app, err := postgres.Open(ctx, u.String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	// Everything the api and the worker do: file (row + job), decide, read.
	l, _, err := app.CreateLoan(ctx, newLoan("key-app-role", "Ana Rol", "30123950", time.Now()))
	if err != nil {
		t.Fatalf("the app role cannot file: %v", err)
	}
	if _, err := app.UpdateLoan(ctx, l.ID, domain.System, func(l *domain.LoanRequest) (string, string, error) {
		return domain.ActionDecide, "", l.ApplyDecision(domain.Decision{Status: domain.StatusApproved, Reason: domain.ReasonScore}, time.Now())
	}); err != nil {
		t.Fatalf("the app role cannot decide: %v", err)
	}
	if _, err := app.QueueDepth(ctx); err != nil {
		t.Fatalf("the app role cannot read the queue: %v", err)
	}
	for _, ddl := range []string{`DROP TABLE audit_events`, `ALTER TABLE loan_requests ADD COLUMN x int`, `CREATE TABLE x (id int)`} {
		if _, err := app.Pool().Exec(ctx, ddl); err == nil {
			t.Errorf("the app role may run %q", ddl)
		}
	}
	// The security log: the app role adds and reads, never alters; the
	// owner neither, while the trigger stands.
	if err := app.RecordSecurityEvent(ctx, domain.SecurityEvent{Kind: domain.EventLoginFailed, Subject: "s", Client: "c"}); err != nil {
		t.Fatalf("the app role cannot log: %v", err)
	}
	if ev, err := app.SecurityEvents(ctx, domain.AuditFilter{Limit: 10}); err != nil || len(ev) != 1 {
		t.Fatalf("the app role reads the log: %+v %v", ev, err)
	}
	for _, who := range []*postgres.DB{app, owner} {
		for _, q := range []string{`UPDATE security_events SET kind = 'login_ok'`, `DELETE FROM security_events`, `TRUNCATE security_events`} {
			if _, err := who.Pool().Exec(ctx, q); err == nil || !strings.Contains(err.Error(), "42501") {
				t.Errorf("%q as %s: %v, want insufficient_privilege (42501)", q, map[bool]string{true: "the app role", false: "the owner"}[who == app], err)
			}
		}
	}
	if ev, _ := owner.SecurityEvents(ctx, domain.AuditFilter{Limit: 10}); len(ev) != 1 || ev[0].Kind != domain.EventLoginFailed {
		t.Fatalf("the log after the attempts to alter it: %+v", ev)
	}
	// Its retention: only rows past it, never under 365 days, whoever asks;
	// the prune's own switch opens nothing to a plain DELETE.
	if _, err := owner.Pool().Exec(ctx, `INSERT INTO security_events (kind, at) SELECT 'login_failed', now() - make_interval(days => d)
		FROM unnest(ARRAY[900, 800, 800, 400]) AS d`); err != nil {
		t.Fatal(err)
	}
	for _, keep := range []int{0, 364} {
		if _, err := app.PruneSecurityEvents(ctx, keep, 100); err == nil {
			t.Errorf("a retention of %d days was accepted", keep)
		}
	}
	for _, want := range []int{2, 1, 0} {
		if n, err := app.PruneSecurityEvents(ctx, 730, 2); err != nil || n != want {
			t.Fatalf("prune past 730 days = %d %v, want %d (batches of 2)", n, err, want)
		}
	}
	for _, who := range []*postgres.DB{app, owner} {
		_, err := who.Pool().Exec(ctx, `BEGIN; SELECT set_config('loandesk.prune', 'on', true); DELETE FROM security_events; COMMIT`)
		if err == nil || !strings.Contains(err.Error(), "42501") {
			t.Errorf("a DELETE with the prune's switch set: %v, want 42501", err)
		}
		_, _ = who.Pool().Exec(ctx, `ROLLBACK`)
	}
	if ev, _ := owner.SecurityEvents(ctx, domain.AuditFilter{Limit: 10}); len(ev) != 2 {
		t.Fatalf("after the prune: %+v, want the 400-day-old event and today's", ev)
	}
}

func TestSearchFoldsCaseAndAccents(t *testing.T) {
	db, ctx := testenv.DB(t), context.Background()
	var encoding, ctype string
	if err := db.Pool().QueryRow(ctx, `SELECT pg_encoding_to_char(encoding), datctype FROM pg_database WHERE datname = current_database()`).
		Scan(&encoding, &ctype); err != nil {
		t.Fatal(err)
	}
	if encoding != "UTF8" {
		t.Fatalf("the database is %s (ctype %s), want UTF8: set POSTGRES_INITDB_ARGS as compose.yaml does", encoding, ctype)
	}
	for i, name := range []string{"José PÉREZ", "Ana Núñez", "Ñandú Pérez-Gómez", "Otra Persona"} {
		if _, _, err := db.CreateLoan(ctx, newLoan(fmt.Sprintf("key-fold-%d", i), name, fmt.Sprintf("3012395%d", i), time.Now())); err != nil {
			t.Fatal(err)
		}
	}
	for q, want := range map[string]int{"perez": 2, "PEREZ": 2, "pérez": 2, "jose": 1, "JOSÉ": 1, "nunez": 1, "ñandu": 1, "gomez": 1, "zzz": 0,
		"go\u0301mez": 1, // a decomposed accent, as some keyboards send it
	} {
		p, err := db.ListLoans(ctx, domain.Filter{Query: q, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if p.Total != want {
			t.Errorf("search %q found %d, want %d", q, p.Total, want)
		}
	}
}

// Accounts: the bootstrap admin only while there is none; named accounts
// unique by email; disabling keeps the first moment and is undone.
func TestAdminAccounts(t *testing.T) {
	db, ctx := testenv.DB(t), context.Background()
	hash := domain.HashPassword("pw-pw-pw-pw-pw")
	if ok, err := db.EnsureAdmin(ctx, "boot@example.com", hash); !ok || err != nil {
		t.Fatalf("first start: %v %v", ok, err)
	}
	if ok, err := db.EnsureAdmin(ctx, "other-boot@example.com", hash); ok || err != nil {
		t.Fatalf("a later start with another ADMIN_EMAIL created it: %v %v", ok, err)
	}
	zoe, err := db.AddAdmin(ctx, "zoe@example.com", hash)
	if err != nil || zoe.ID == 0 || zoe.DisabledAt != nil {
		t.Fatalf("AddAdmin = %+v %v", zoe, err)
	}
	if _, err := db.AddAdmin(ctx, "zoe@example.com", hash); domain.ErrorCode(err) != domain.ECONFLICT {
		t.Fatalf("the same email again: %v", err)
	}
	off, err := db.SetAdminDisabled(ctx, "zoe@example.com", true)
	if err != nil || off.DisabledAt == nil {
		t.Fatalf("disable: %+v %v", off, err)
	}
	again, _ := db.SetAdminDisabled(ctx, "zoe@example.com", true)
	if !again.DisabledAt.Equal(*off.DisabledAt) {
		t.Fatalf("disabling twice moved the moment: %v, then %v", off.DisabledAt, again.DisabledAt)
	}
	if byID, err := db.AdminByID(ctx, zoe.ID); err != nil || byID.DisabledAt == nil || byID.Email != "zoe@example.com" {
		t.Fatalf("AdminByID = %+v %v", byID, err)
	}
	if on, err := db.SetAdminDisabled(ctx, "zoe@example.com", false); err != nil || on.DisabledAt != nil {
		t.Fatalf("enable: %+v %v", on, err)
	}
	if _, err := db.SetAdminDisabled(ctx, "nobody@example.com", true); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Fatalf("unknown email: %v", err)
	}
	if _, err := db.AdminByID(ctx, 1<<40); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Fatalf("unknown id: %v", err)
	}
	all, err := db.ListAdmins(ctx)
	if err != nil || len(all) != 2 || all[0].Email != "boot@example.com" || all[1].Email != "zoe@example.com" {
		t.Fatalf("ListAdmins = %+v %v", all, err)
	}
	// Each change is in the security log, and only the changes that were.
	events, err := db.SecurityEvents(ctx, domain.AuditFilter{AdminID: zoe.ID, Limit: 10})
	var kinds []string
	for _, e := range events {
		kinds = append(kinds, e.Kind+" "+e.AdminEmail)
	}
	want := []string{"admin_enabled zoe@example.com", "admin_disabled zoe@example.com", "admin_disabled zoe@example.com", "admin_added zoe@example.com"}
	if err != nil || !slices.Equal(kinds, want) {
		t.Fatalf("zoe's events %q %v, want %q", kinds, err, want)
	}
	if page, _ := db.SecurityEvents(ctx, domain.AuditFilter{AdminID: zoe.ID, Before: events[1].ID, Limit: 10}); len(page) != 2 || page[0].ID != events[2].ID {
		t.Fatalf("events before %d: %+v", events[1].ID, page)
	}
	if all, _ := db.SecurityEvents(ctx, domain.AuditFilter{Limit: 10}); len(all) != 5 || all[4].Kind != domain.EventAdminAdded || all[4].AdminEmail != "boot@example.com" {
		t.Fatalf("the log of every account: %+v, want the bootstrap admin's addition first", all)
	}
}

// A new password moves the account's session epoch on with its line in the
// log; so does disabling it. A disabled account's password cannot change.
func TestAPasswordChangeMovesTheSessionEpoch(t *testing.T) {
	db, ctx := testenv.DB(t), context.Background()
	ana, err := db.AddAdmin(ctx, "ana@example.com", domain.HashPassword("first-password-long"))
	if err != nil || ana.SessionEpoch != 0 {
		t.Fatalf("AddAdmin = %+v %v", ana, err)
	}
	changed := domain.SecurityEvent{Kind: domain.EventPasswordChanged, Client: "pseudonym-of-the-address"}
	if epoch, err := db.SetPassword(ctx, ana.ID, domain.HashPassword("second-password-long"), 0, changed); epoch != 1 || err != nil {
		t.Fatalf("SetPassword = %d %v, want epoch 1", epoch, err)
	}
	// A session of the epoch before (a change racing this one) changes nothing.
	if _, err := db.SetPassword(ctx, ana.ID, domain.HashPassword("racing-password-long"), 0, changed); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Fatalf("a change from the epoch before: %v, want ENOTFOUND", err)
	}
	got, _ := db.AdminByID(ctx, ana.ID)
	if got.SessionEpoch != 1 || !domain.VerifyPassword(got.PasswordHash, "second-password-long") {
		t.Fatalf("after the change: %+v", got)
	}
	off, err := db.SetAdminDisabled(ctx, "ana@example.com", true)
	if err != nil || off.SessionEpoch != 2 {
		t.Fatalf("disable = %+v %v, want epoch 2", off, err)
	}
	if _, err := db.SetPassword(ctx, ana.ID, domain.HashPassword("third-password-long"), 2, changed); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Fatalf("a disabled account's new password: %v, want ENOTFOUND", err)
	}
	if on, _ := db.SetAdminDisabled(ctx, "ana@example.com", false); on.SessionEpoch != 2 || !domain.VerifyPassword(on.PasswordHash, "second-password-long") {
		t.Fatalf("enabled again: %+v, want epoch 2 and the second password", on)
	}
	events, _ := db.SecurityEvents(ctx, domain.AuditFilter{AdminID: ana.ID, Limit: 10})
	var kinds []string
	for _, e := range events {
		kinds = append(kinds, e.Kind+" "+e.Client)
	}
	if want := []string{"admin_enabled ", "admin_disabled ", "password_changed pseudonym-of-the-address", "admin_added "}; !slices.Equal(kinds, want) {
		t.Fatalf("ana's events %q, want %q", kinds, want)
	}
}

// TOTP in the account: a secret waits for its first code, the enrolment
// moves the epoch on, a step's code and a recovery code are each good once
// however many logins race with it, and a reset takes it all away.
func TestTOTPCodesAreGoodOnceUnderConcurrentLogins(t *testing.T) {
	db, ctx := testenv.DB(t), context.Background()
	ana, err := db.AddAdmin(ctx, "ana@example.com", domain.HashPassword("first-password-long"))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SetMFASecret(ctx, ana.ID, []byte("sealed-1")); err != nil {
		t.Fatal(err)
	}
	enrolled := domain.Lines{Kinds: []string{domain.EventMFAEnrolled, domain.EventLoginOK}, Client: "pseudonym"}
	login := domain.Lines{Kinds: []string{domain.EventLoginOK}, Client: "p"}
	if _, err := db.EnableMFA(ctx, ana.ID, 5, 100, nil, enrolled); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Fatalf("EnableMFA from another epoch = %v, want ENOTFOUND", err)
	}
	codes := [][]byte{[]byte("hash-a"), []byte("hash-b")}
	if epoch, err := db.EnableMFA(ctx, ana.ID, 0, 100, codes, enrolled); err != nil || epoch != 1 {
		t.Fatalf("EnableMFA = %d %v", epoch, err)
	}
	if err := db.SetMFASecret(ctx, ana.ID, []byte("sealed-2")); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Fatalf("a new secret over a confirmed one = %v, want ENOTFOUND", err)
	}
	got, _ := db.AdminByID(ctx, ana.ID)
	if string(got.MFASecret) != "sealed-1" || got.MFAEnrolledAt == nil {
		t.Fatalf("after enrolment: %+v", got)
	}
	// 200 logins with the same step's code, and with the same recovery code.
	var steps, recovered atomic.Int32
	var wg sync.WaitGroup
	for range 200 {
		wg.Go(func() {
			if ok, err := db.UseMFAStep(ctx, ana.ID, 101, login); err != nil {
				t.Error(err)
			} else if ok {
				steps.Add(1)
			}
			if ok, left, err := db.UseRecoveryCode(ctx, ana.ID, []byte("hash-b"), login); err != nil {
				t.Error(err)
			} else if ok {
				recovered.Add(1)
				if left != 1 {
					t.Errorf("%d codes left, want 1", left)
				}
			}
		})
	}
	wg.Wait()
	if steps.Load() != 1 || recovered.Load() != 1 {
		t.Fatalf("one code was good %d times, one recovery code %d times; want once each", steps.Load(), recovered.Load())
	}
	if ok, _ := db.UseMFAStep(ctx, ana.ID, 100, login); ok {
		t.Fatal("an earlier step's code was good after a later one")
	}
	reset, err := db.ResetMFA(ctx, "ana@example.com")
	if err != nil || reset.MFASecret != nil || reset.MFAEnrolledAt != nil || reset.SessionEpoch != 2 {
		t.Fatalf("ResetMFA = %+v %v", reset, err)
	}
	if ok, _, _ := db.UseRecoveryCode(ctx, ana.ID, []byte("hash-a"), login); ok {
		t.Fatal("a recovery code outlived the reset")
	}
	// Each use that counted logged its line in its statement, and only it.
	events, _ := db.SecurityEvents(ctx, domain.AuditFilter{AdminID: ana.ID, Limit: 10})
	var kinds []string
	for _, e := range events {
		kinds = append(kinds, e.Kind+" "+e.Client)
	}
	if want := []string{"mfa_reset ", "login_ok p", "login_ok p", "login_ok pseudonym", "mfa_enrolled pseudonym", "admin_added "}; !slices.Equal(kinds, want) {
		t.Fatalf("events %q, want %q", kinds, want)
	}
}

// The audit's filters: by request, by day, by cursor; what a view records
// comes back; a detail outside the closed set is refused.
func TestTheAuditFiltersByRequestAndDay(t *testing.T) {
	db, ctx := testenv.DB(t), context.Background()
	ana, err := db.AddAdmin(ctx, "ana@example.com", domain.HashPassword("first-password-long"))
	if err != nil {
		t.Fatal(err)
	}
	seven, eight := int64(7), int64(8)
	for _, e := range []domain.SecurityEvent{
		{Kind: domain.EventRequestViewed, AdminID: &ana.ID, RequestID: &seven},
		{Kind: domain.EventRequestsListed, AdminID: &ana.ID, Detail: domain.SearchDNI},
		{Kind: domain.EventRequestViewed, AdminID: &ana.ID, RequestID: &eight},
		{Kind: domain.EventRequestViewed, AdminID: &ana.ID, RequestID: &seven},
	} {
		if err := db.RecordSecurityEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.RecordSecurityEvent(ctx, domain.SecurityEvent{Kind: domain.EventRequestsListed, AdminID: &ana.ID, Detail: "30123950"}); err == nil {
		t.Fatal("a search's text was stored as its kind")
	}
	bySeven, err := db.SecurityEvents(ctx, domain.AuditFilter{RequestID: 7, Limit: 10})
	if err != nil || len(bySeven) != 2 || *bySeven[0].RequestID != 7 || bySeven[0].ID <= bySeven[1].ID || bySeven[0].AdminEmail != "ana@example.com" {
		t.Fatalf("by request: %+v %v", bySeven, err)
	}
	if page, _ := db.SecurityEvents(ctx, domain.AuditFilter{RequestID: 7, Before: bySeven[0].ID, Limit: 10}); len(page) != 1 || page[0].ID != bySeven[1].ID {
		t.Fatalf("by request, after the cursor: %+v", page)
	}
	today := time.Now().UTC().Truncate(24 * time.Hour)
	if all, _ := db.SecurityEvents(ctx, domain.AuditFilter{From: today, To: today.AddDate(0, 0, 1), AdminID: ana.ID, Limit: 10}); len(all) != 5 ||
		all[2].Detail != domain.SearchDNI {
		t.Fatalf("today's: %+v", all)
	}
	if none, err := db.SecurityEvents(ctx, domain.AuditFilter{From: today.AddDate(0, 0, -1), To: today, Limit: 10}); err != nil || len(none) != 0 {
		t.Fatalf("yesterday's: %+v %v", none, err)
	}
}
