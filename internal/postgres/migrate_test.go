package postgres_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/loandesk/loandesk/internal/domain"
	"github.com/loandesk/loandesk/internal/postgres"
	"github.com/loandesk/loandesk/internal/testenv"
)

// downTo takes a test database's schema back to a version, as it was
// before the later migrations (their Down).
func downTo(t *testing.T, db *postgres.DB, version int64) {
	t.Helper()
	sqlDB := stdlib.OpenDBFromPool(db.Pool())
	defer sqlDB.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, sqlDB, os.DirFS("migrations"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(context.Background(), version); err != nil {
		t.Fatalf("down to %05d: %v", version, err)
	}
}

// fileAsBefore saves a request as an earlier release did on its earlier
// schema: the row alone, whose triggers add what that schema keeps beside
// it. (Today's adapter also settles the key's claim, in a table those
// schemas lack: 00009.)
func fileAsBefore(t *testing.T, db *postgres.DB, l *domain.LoanRequest) {
	t.Helper()
	_, err := db.Pool().Exec(context.Background(), `
		INSERT INTO loan_requests (tracking_code, full_name, email, document_number, gender, amount, status, reason,
			idempotency_key, fingerprint, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		l.TrackingCode, l.FullName, l.Email, l.DocumentNumber, l.Gender, l.Amount, l.Status, l.Reason,
		l.IdempotencyKey, l.Fingerprint, l.CreatedAt, l.UpdatedAt)
	if err != nil {
		t.Fatal(err)
	}
}

// Requests filed under release N-1's schema (00004: words only, no document
// suffixes) are found by N's searches once N's migrations ran: 00006 fills
// the pairs and suffixes for them, and 00005's Down takes them away again.
func TestSearchTermsAreFilledForRequestsFiledBefore(t *testing.T) {
	db, ctx := testenv.DB(t), context.Background()
	downTo(t, db, 4)
	at := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	for i, name := range []string{"Micaela Soto Quispe", "Micaela Ríos Quispe", "Tomás Soto Rossi"} {
		fileAsBefore(t, db, newLoan(fmt.Sprintf("key-before-%d", i), name, fmt.Sprintf("3011122%d", i), at.Add(time.Duration(i)*time.Minute)))
	}
	var pairs int
	if err := db.Pool().QueryRow(ctx, `SELECT count(*) FROM loan_words WHERE word LIKE '% %'`).Scan(&pairs); err != nil || pairs != 0 {
		t.Fatalf("under 00004: %d pair terms (%v), want none", pairs, err)
	}
	if err := db.Migrate(ctx, testenv.Logger()); err != nil {
		t.Fatal(err)
	}
	// A name without one word of three letters has no terms: it is still filed.
	short := newLoan("key-after-short", "Li Wu", "30111229", at.Add(time.Hour))
	short.Email = "lw@example.com"
	if _, _, err := db.CreateLoan(ctx, short); err != nil {
		t.Fatalf("filing a name without searchable words: %v", err)
	}
	for q, want := range map[string]int{"soto micaela": 1, "QUISPE micaela": 2, "quispe soto micaela": 1, "soto": 2, "11122": 4, "1221": 1, "1229": 1} {
		page, err := db.ListLoans(ctx, domain.Filter{Query: q, Limit: 10})
		if err != nil {
			t.Fatalf("%q: %v", q, err)
		}
		if page.Total != want || len(page.Items) != want {
			t.Errorf("%q after the migrations: %d found, want %d", q, page.Total, want)
		}
	}
}

// 00007 builds its index CONCURRENTLY: a build that dies leaves an invalid
// index of that name behind, and the migration, run again, must replace it
// with a valid one rather than fail on the name or keep the broken one.
func TestADocumentHeadIndexBuildThatDiedIsBuiltAgain(t *testing.T) {
	db, ctx := testenv.DB(t), context.Background()
	downTo(t, db, 6)
	at := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	for i, doc := range []string{"30111220", "30111221"} {
		fileAsBefore(t, db, newLoan(fmt.Sprintf("key-head-%d", i), "Ana Cabeza", doc, at.Add(time.Duration(i)*time.Minute)))
	}
	// A real failed concurrent build: two suffixes start with 3011, so a
	// unique one fails half-way and leaves its index invalid.
	if _, err := db.Pool().Exec(ctx, `CREATE UNIQUE INDEX CONCURRENTLY loan_documents_head ON loan_documents (left(suffix, 4))`); err == nil {
		t.Fatal("the unique build succeeded; the test needs it to fail")
	}
	valid := func() (ok bool, def string) {
		t.Helper()
		err := db.Pool().QueryRow(ctx, `SELECT i.indisvalid, pg_get_indexdef(i.indexrelid) FROM pg_index i
			WHERE i.indexrelid = 'loan_documents_head'::regclass`).Scan(&ok, &def)
		if err != nil {
			t.Fatal(err)
		}
		return ok, def
	}
	if ok, _ := valid(); ok {
		t.Fatal("the failed build left a valid index; the test needs an invalid one")
	}
	if err := db.Migrate(ctx, testenv.Logger()); err != nil {
		t.Fatalf("migrating over an invalid index: %v", err)
	}
	if ok, def := valid(); !ok || !strings.Contains(def, "created_at, request_id) INCLUDE (suffix)") {
		t.Fatalf("after the migration: valid %v, %s", ok, def)
	}
	page, err := db.ListLoans(ctx, domain.Filter{Query: "3011", Limit: 10})
	if err != nil || page.Total != 2 {
		t.Fatalf("four digits after the rebuild: %d found (%v), want 2", page.Total, err)
	}
}

// Two migrates at once (a retried job beside the first, two pipelines)
// take turns: both succeed, and each migration runs once.
func TestTwoMigratesAtOnceTakeTurns(t *testing.T) {
	db, ctx := testenv.DB(t), context.Background()
	downTo(t, db, 4)
	errs := make(chan error, 2)
	for range 2 {
		go func() { errs <- db.Migrate(ctx, testenv.Logger()) }()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Errorf("a migrate beside another: %v", err)
		}
	}
	var applied int
	if err := db.Pool().QueryRow(ctx, `SELECT count(*) FROM goose_db_version WHERE version_id = 7 AND is_applied`).Scan(&applied); err != nil || applied != 1 {
		t.Fatalf("00007 recorded %d times (%v), want once", applied, err)
	}
}

// 00008 drops the trigram index no query reads (a filing kept it up to
// date for nothing); its Down builds it again.
func TestFilingKeepsNoTrigramIndex(t *testing.T) {
	db, ctx := testenv.DB(t), context.Background()
	trigram := func() (names []string) {
		t.Helper()
		rows, err := db.Pool().Query(ctx, `SELECT indexrelid::regclass::text FROM pg_index
			WHERE indrelid = 'loan_requests'::regclass AND pg_get_indexdef(indexrelid) LIKE '%gin_trgm_ops%' ORDER BY 1`)
		if err != nil {
			t.Fatal(err)
		}
		if names, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			t.Fatal(err)
		}
		return names
	}
	if got := trigram(); len(got) != 0 {
		t.Fatalf("after the migrations loan_requests has trigram indexes %v, want none", got)
	}
	downTo(t, db, 7)
	if got := trigram(); len(got) != 1 || got[0] != "loan_requests_document" {
		t.Fatalf("00008's Down left trigram indexes %v, want loan_requests_document", got)
	}
	if err := db.Migrate(ctx, testenv.Logger()); err != nil {
		t.Fatal(err)
	}
	if got := trigram(); len(got) != 0 {
		t.Fatalf("migrated again: trigram indexes %v, want none", got)
	}
}
