package postgres_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	neturl "net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/loandesk/loandesk/internal/domain"
	"github.com/loandesk/loandesk/internal/postgres"
	"github.com/loandesk/loandesk/internal/testenv"
)

// providers count their calls; each answers after delay.
type providers struct {
	delay             time.Duration
	identity, scoring atomic.Int64
}

func (p *providers) VerifyIdentity(ctx context.Context, _ domain.Application) (domain.IdentityVerdict, error) {
	p.identity.Add(1)
	return domain.IdentityVerdict{Match: true}, sleepCtx(ctx, p.delay)
}

func (p *providers) Score(ctx context.Context, _ domain.Application) (domain.ScoreResult, error) {
	p.scoring.Add(1)
	return domain.ScoreResult{Score: 800, Approved: true}, sleepCtx(ctx, p.delay)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

func deskOn(db *postgres.DB, p *providers) *domain.Desk {
	return &domain.Desk{Store: db, Identity: p, Scoring: p, DecisionTimeout: 3 * time.Second, Log: testenv.Logger()}
}

func filing(name string) domain.Application {
	return domain.Application{FullName: name, Email: "ana@example.com", DocumentNumber: "30123950", Gender: "F", Amount: 50000}
}

// Eight identical filings at once (a client that retries without waiting,
// a proxy that repeats a POST): one row, one answer for all, and the
// providers asked once — the others wait for the first one's answer.
func TestIdenticalFilingsAtOnceAskTheProvidersOnce(t *testing.T) {
	db, ctx := testenv.DB(t), context.Background()
	p := &providers{delay: 200 * time.Millisecond}
	desk := deskOn(db, p)
	const n = 8
	codes := make(chan string, n)
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			s, err := desk.Submit(ctx, "same-filing-0001", filing("Ana Repetida"))
			if err != nil {
				t.Error(err)
				return
			}
			codes <- s.Receipt.TrackingCode
		}()
	}
	close(gate)
	wg.Wait()
	close(codes)
	seen := map[string]int{}
	for c := range codes {
		seen[c]++
	}
	if len(seen) != 1 {
		t.Fatalf("answers %v, want one tracking code for all %d", seen, n)
	}
	if i, s := p.identity.Load(), p.scoring.Load(); i != 1 || s != 1 {
		t.Fatalf("identity asked %d times and scoring %d for one filing sent %d times, want once each", i, s, n)
	}
	// A repeat long after gets the same answer and asks nobody.
	again, err := desk.Submit(ctx, "same-filing-0001", filing("Ana Repetida"))
	if err != nil || !again.Replayed || p.identity.Load() != 1 {
		t.Fatalf("later repeat: %+v %v, identity asked %d times", again, err, p.identity.Load())
	}
	// Other content under the key is a conflict, while and after it files.
	if _, err := desk.Submit(ctx, "same-filing-0001", filing("Otra Persona")); domain.ErrorCode(err) != domain.ECONFLICT {
		t.Fatalf("other content under the key: %v, want ECONFLICT", err)
	}
}

// A claim whose filing died (its process crashed between claim and save)
// is taken over once it expires; until then a repeat is told to retry.
func TestAnAbandonedClaimIsTakenOverWhenItExpires(t *testing.T) {
	db, ctx := testenv.DB(t), context.Background()
	a := filing("Ana Abandonada")
	a.Normalize()
	c, err := db.ClaimFiling(ctx, "abandoned-0001", a.Fingerprint(), 300*time.Millisecond)
	if err != nil || !c.Won {
		t.Fatalf("first claim: %+v %v", c, err)
	}
	c, err = db.ClaimFiling(ctx, "abandoned-0001", a.Fingerprint(), time.Minute)
	if err != nil || c.Won || c.Holder != a.Fingerprint() {
		t.Fatalf("claim while held: %+v %v, want lost with the holder's fingerprint", c, err)
	}
	// Wait for the state, not a moment: until the claim has expired in
	// the database's own clock, it is held.
	deadline := time.Now().Add(30 * time.Second)
	for !c.Won {
		if time.Now().After(deadline) {
			t.Fatal("the expired claim was never taken over")
		}
		time.Sleep(50 * time.Millisecond)
		if c, err = db.ClaimFiling(ctx, "abandoned-0001", a.Fingerprint(), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	// Its save settles it: the next claim finds the request.
	if _, _, err := db.CreateLoan(ctx, decided("abandoned-0001")); err != nil {
		t.Fatal(err)
	}
	if c, err = db.ClaimFiling(ctx, "abandoned-0001", a.Fingerprint(), time.Minute); err != nil || c.Filed == nil || c.Won {
		t.Fatalf("claim after the save: %+v %v, want the filed request", c, err)
	}
	if err := db.ReleaseFiling(ctx, "abandoned-0001"); err != nil {
		t.Fatal(err)
	}
}

func TestAppConnectionsHaveDeadlines(t *testing.T) {
	db, ctx := testenv.DB(t), context.Background()
	for name, want := range map[string]string{"statement_timeout": "5s", "lock_timeout": "2s", "idle_in_transaction_session_timeout": "10s"} {
		var got string
		if err := db.Pool().QueryRow(ctx, "SHOW "+name).Scan(&got); err != nil || got != want {
			t.Errorf("%s = %q (%v), want %q", name, got, err, want)
		}
	}
}

// A table held by someone else for longer than lock_timeout (an operator's
// transaction, a migration): the filing is answered 503 with Retry-After
// within the deadline, its claim is given up, the pool gets its connection
// back, the providers were asked once, and the retry after the lock files.
// The worker's decision is bounded the same way.
func TestAHeldLockCostsA503NotAConnection(t *testing.T) {
	url, ctx := testenv.DatabaseURL(t), context.Background()
	db := openAt(t, url)
	queued, _, err := db.CreateLoan(ctx, newLoan("held-queued-1", "Ana En Cola", "30123950", time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	// SHARE lets the claim read, and blocks every write to the table.
	tx := holdTable(t, url, "SHARE")
	p := &providers{}
	desk := deskOn(db, p)
	_, err = desk.Submit(ctx, "held-lock-0001", filing("Ana Bloqueada"))
	e, _ := domain.AsError(err)
	if e == nil || e.Code != domain.EUNAVAILABLE || e.RetryAfter <= 0 {
		t.Fatalf("filing behind the lock: %v, want EUNAVAILABLE with a retry-after", err)
	}
	if err := desk.DecideQueued(ctx, queued.ID, false); domain.ErrorCode(err) != domain.EUNAVAILABLE {
		t.Fatalf("decision behind the lock: %v, want EUNAVAILABLE", err)
	}
	if i, s := p.identity.Load(), p.scoring.Load(); i != 2 || s != 2 {
		t.Fatalf("providers asked %d/%d times for one filing and one job attempt, want once each", i, s)
	}
	if n := db.Pool().Stat().AcquiredConns(); n != 0 {
		t.Fatalf("%d connections still held after the deadline", n)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	s, err := desk.Submit(ctx, "held-lock-0001", filing("Ana Bloqueada"))
	if err != nil || s.Replayed || s.Receipt.Status != domain.StatusApproved {
		t.Fatalf("retry after the lock: %+v %v, want filed now", s, err)
	}
}

// A migration that finds its table in use waits lock_timeout, rolls back
// and tries again — queued on the table, it would hold up every query
// behind it for as long as the holder holds — and completes once the table
// is free.
func TestAMigrationRetriesALockInsteadOfQueuing(t *testing.T) {
	url, ctx := testenv.DatabaseURL(t), context.Background()
	db := openAt(t, url)
	downTo(t, db, 4) // 00005 changes loan_requests' triggers: it needs the table
	tx := holdTable(t, url, "ROW EXCLUSIVE")
	logs := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- db.Migrate(ctx, slog.New(slog.NewTextHandler(logs, nil))) }()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(logs.String(), "retrying") {
		if time.Now().After(deadline) {
			t.Fatalf("no retry after a lock timeout; logs:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("migrate after the lock was released: %v", err)
	}
	if !strings.Contains(logs.String(), "database schema is current") {
		t.Fatalf("the migration did not complete:\n%s", logs.String())
	}
}

// openAt opens the adapter on url for the test.
func openAt(t *testing.T, url string) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

// holdTable locks loan_requests in mode from a connection of its own, in a
// transaction the test ends (or the cleanup does).
func holdTable(t *testing.T, url, mode string) pgx.Tx {
	t.Helper()
	ctx := context.Background()
	holder, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { holder.Close(ctx) })
	tx, err := holder.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "LOCK TABLE loan_requests IN "+mode+" MODE"); err != nil {
		t.Fatal(err)
	}
	return tx
}

// syncBuffer is a bytes.Buffer safe for a logger in another goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A member that takes no writes — a standby the pool reached, an old
// primary demoted under it; here the database is made read-only, which
// PostgreSQL reports to its sessions the same way (default_transaction_
// read_only, as in_hot_standby on a standby) — costs a filing a 503 with
// Retry-After, and no connection to it is ever used; once writes are back
// the retry files on a fresh connection.
func TestAReadOnlyMemberCostsA503NotItsConnections(t *testing.T) {
	url, ctx := testenv.DatabaseURL(t), context.Background()
	db := openAt(t, url)
	sql := testenv.SQL(t, url)
	var name string
	if err := sql.QueryRow(ctx, `SELECT current_database()`).Scan(&name); err != nil {
		t.Fatal(err)
	}
	readOnly := func(on bool) {
		t.Helper()
		q := `ALTER DATABASE ` + pgx.Identifier{name}.Sanitize() + ` RESET default_transaction_read_only`
		if on {
			q = `ALTER DATABASE ` + pgx.Identifier{name}.Sanitize() + ` SET default_transaction_read_only = on`
		}
		if _, err := sql.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
		db.Pool().Reset() // the settings reach new sessions: the pool's next ones
	}
	readOnly(true)
	desk := deskOn(db, &providers{})
	_, err := desk.Submit(ctx, "read-only-0001", filing("Ana Solo Lectura"))
	e, _ := domain.AsError(err)
	if e == nil || e.Code != domain.EUNAVAILABLE || e.RetryAfter <= 0 {
		t.Fatalf("filing on a read-only member: %v, want EUNAVAILABLE with a retry-after", err)
	}
	// A refused connection is closed in the background: wait for that state.
	for deadline := time.Now().Add(10 * time.Second); db.Pool().Stat().TotalConns() != 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections to the read-only member still open 10 s later", db.Pool().Stat().TotalConns())
		}
	}
	readOnly(false)
	s, err := desk.Submit(ctx, "read-only-0001", filing("Ana Solo Lectura"))
	if err != nil || s.Replayed || s.Receipt.Status != domain.StatusApproved {
		t.Fatalf("retry once writes are back: %+v %v, want filed now", s, err)
	}
}

// The primary's machine dies: it does not refuse, it falls silent. A pooled
// connection to it is pinged before use and dropped after a second, and the
// next connection finds the member that took over (the next host in
// DATABASE_URL): the request is served, not held on the dead connection
// until its deadline (30 s here, far beyond what the fix needs).
func TestASilentPrimaryCostsAPingNotTheRequest(t *testing.T) {
	url := testenv.DatabaseURL(t)
	old := testenv.NewProxy(t, testenv.HostPort(t, url))
	next := testenv.NewProxy(t, testenv.HostPort(t, url))
	u, err := neturl.Parse(url)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = old.Addr + "," + next.Addr
	db := openAt(t, u.String())
	if err := db.Ping(context.Background()); err != nil { // a pooled connection, through old
		t.Fatal(err)
	}
	old.Freeze()
	time.Sleep(1100 * time.Millisecond) // idle past pgxpool's 1 s: pinged before its next use
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, _, err := db.CreateLoan(ctx, newLoan("silent-primary-1", "Ana Silencio", "30123950", time.Now())); err != nil {
		t.Fatalf("filing after the primary fell silent: %v, want it saved on the next member", err)
	}
}

// A switchover: the old primary ends its sessions and for a moment nothing
// at the address takes writes (connections accepted and closed, then
// refused); a filing waits for the next primary instead of failing.
func TestAFilingWaitsOutASwitchover(t *testing.T) {
	url, ctx := testenv.DatabaseURL(t), context.Background()
	target := testenv.HostPort(t, url)
	old := testenv.NewProxy(t, target)
	db := openAt(t, testenv.ThroughProxy(t, url, old))
	db.SetPrimaryWait(time.Minute)
	if err := db.Ping(ctx); err != nil { // a pooled connection to the old primary
		t.Fatal(err)
	}
	old.Cut()
	gap, err := net.Listen("tcp", old.Addr)
	if err != nil {
		t.Fatal(err)
	}
	attempts := make(chan struct{}, 100)
	go func() {
		for {
			c, err := gap.Accept()
			if err != nil {
				return
			}
			c.Close()
			attempts <- struct{}{}
		}
	}()
	done := make(chan error, 1)
	go func() {
		_, _, err := db.CreateLoan(ctx, newLoan("switchover-1", "Ana Cambio", "30123950", time.Now()))
		done <- err
	}()
	for range 3 { // three connection attempts: the filing is waiting, not failed
		select {
		case err := <-done:
			t.Fatalf("filing while no member takes writes ended: %v, want it to wait", err)
		case <-attempts:
		}
	}
	gap.Close()
	testenv.NewProxyOn(t, old.Addr, target) // the new primary, where the client looks
	if err := <-done; err != nil {
		t.Fatalf("filing across a switchover: %v, want it saved on the new primary", err)
	}
	got, err := db.LoanByIdempotencyKey(ctx, "switchover-1")
	if err != nil || got.FullName != "Ana Cambio" {
		t.Fatalf("the filing after the switchover: %+v %v", got, err)
	}
}
