package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/loandesk/loandesk/internal/domain"
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
	page, err := db.ListLoans(ctx, domain.Filter{Page: 1, PageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1 || page.Total != 1 {
		t.Fatalf("%d distinct ids, %d rows; want exactly one", len(seen), page.Total)
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

func TestListFiltersSearchAndPages(t *testing.T) {
	db, ctx := testenv.DB(t), context.Background()
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := range 12 {
		l := newLoan(fmt.Sprintf("key-list-%02d", i), fmt.Sprintf("Persona %02d", i), fmt.Sprintf("301239%02d", i), base.AddDate(0, 0, i))
		if i == 3 {
			l.FullName = "Zoë 100%_match"
		}
		stored, _, err := db.CreateLoan(ctx, l)
		if err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			_, err := db.UpdateLoan(ctx, stored.ID, domain.System, func(l *domain.LoanRequest) (string, string, error) {
				return domain.ActionDecide, "", l.ApplyDecision(domain.Decision{Status: domain.StatusApproved, Reason: domain.ReasonScore}, time.Now())
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	check := func(name string, f domain.Filter, wantTotal, wantItems int) domain.Page {
		t.Helper()
		if f.Page == 0 {
			f.Page, f.PageSize = 1, 5
		}
		p, err := db.ListLoans(ctx, f)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if p.Total != wantTotal || len(p.Items) != wantItems {
			t.Fatalf("%s: total %d items %d, want %d/%d", name, p.Total, len(p.Items), wantTotal, wantItems)
		}
		return p
	}
	p := check("all, page 1", domain.Filter{}, 12, 5)
	if !p.Items[0].CreatedAt.After(p.Items[4].CreatedAt) {
		t.Fatal("not newest first")
	}
	check("page 3", domain.Filter{Page: 3, PageSize: 5}, 12, 2)
	check("approved", domain.Filter{Status: domain.StatusApproved}, 4, 4)
	check("in review", domain.Filter{Status: domain.StatusInReview}, 8, 5)
	check("date range", domain.Filter{From: base.AddDate(0, 0, 2), To: base.AddDate(0, 0, 5)}, 3, 3)
	check("search name", domain.Filter{Query: "persona 1"}, 2, 2)
	check("search document", domain.Filter{Query: "3012390"}, 10, 5)
	check("wildcards are literal", domain.Filter{Query: "100%_"}, 1, 1)
	check("percent alone", domain.Filter{Query: "%"}, 1, 1)
	check("SQL is data", domain.Filter{Query: "' OR 1=1 --"}, 0, 0)
	stats, err := db.Stats(ctx)
	if err != nil || stats.Approved != 4 || stats.InReview != 8 || stats.Deleted != 0 {
		t.Fatalf("stats = %+v, %v", stats, err)
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
	p, _ := db.ListLoans(ctx, domain.Filter{Deleted: true, Page: 1, PageSize: 10})
	if p.Total != 1 {
		t.Fatalf("deleted list total = %d", p.Total)
	}
}

func TestStaleUndecided(t *testing.T) {
	db, ctx := testenv.DB(t), context.Background()
	now := time.Now().UTC()
	old, _, _ := db.CreateLoan(ctx, newLoan("key-stale-1", "Ana Vieja", "30123950", now.Add(-10*time.Minute)))
	_, _, _ = db.CreateLoan(ctx, newLoan("key-stale-2", "Ana Nueva", "30123951", now))
	queued, _, _ := db.CreateLoan(ctx, newLoan("key-stale-3", "Ana Encolada", "30123952", now.Add(-10*time.Minute)))
	_ = db.MarkQueued(ctx, queued.ID, now.Add(-time.Minute))
	ids, err := db.StaleUndecided(ctx, now.Add(-time.Minute), now.Add(-30*time.Minute), 10)
	if err != nil || len(ids) != 1 || ids[0] != old.ID {
		t.Fatalf("stale = %v, %v; want only the old never-queued request %d", ids, err, old.ID)
	}
}

func TestMigrateIsRepeatable(t *testing.T) {
	db := testenv.DB(t)
	if err := db.Migrate(context.Background(), testenv.Logger()); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
}
