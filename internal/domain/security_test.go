package domain_test

import (
	"context"
	"testing"
	"time"

	"github.com/loandesk/loandesk/internal/domain"
)

type auditStoreMock struct {
	events func(ctx context.Context, f domain.AuditFilter) ([]domain.SecurityEvent, error)
}

func (m auditStoreMock) SecurityEvents(ctx context.Context, f domain.AuditFilter) ([]domain.SecurityEvent, error) {
	return m.events(ctx, f)
}

func (auditStoreMock) AdminByEmail(_ context.Context, email string) (*domain.Admin, error) {
	if email == "ana@example.com" {
		return &domain.Admin{ID: 3, Email: email}, nil
	}
	return nil, domain.Errorf(domain.ENOTFOUND, "admin not found")
}

// The audit reads its filters as the list does (every problem named at
// once), asks for one event more than the page to know whether another
// follows, and hands the last event's id on as the cursor.
func TestTheAuditPagesThroughTheLog(t *testing.T) {
	var got domain.AuditFilter
	log := domain.AuditLog{Store: auditStoreMock{events: func(_ context.Context, f domain.AuditFilter) ([]domain.SecurityEvent, error) {
		got = f
		var out []domain.SecurityEvent
		for id := int64(50); id > 50-int64(f.Limit) && id > 40; id-- {
			out = append(out, domain.SecurityEvent{ID: id})
		}
		return out, nil
	}}}
	ctx := context.Background()
	page, err := log.Page(ctx, domain.AuditQuery{Admin: " Ana@Example.com ", Request: "7", Day: "2026-12-07", Limit: "4", Cursor: "51"})
	day := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	if err != nil || got != (domain.AuditFilter{AdminID: 3, RequestID: 7, From: day, To: day.AddDate(0, 0, 1), Before: 51, Limit: 5}) {
		t.Fatalf("filter %+v, %v", got, err)
	}
	if len(page.Items) != 4 || page.NextCursor == nil || *page.NextCursor != "47" {
		t.Fatalf("page of %d, cursor %v; want 4 and 47", len(page.Items), page.NextCursor)
	}
	if page, _ := log.Page(ctx, domain.AuditQuery{}); len(page.Items) != 10 || page.NextCursor != nil || got.Limit != domain.DefaultPageSize+1 {
		t.Fatalf("the last page: %d items, cursor %v (asked %d)", len(page.Items), page.NextCursor, got.Limit)
	}
	_, err = log.Page(ctx, domain.AuditQuery{Admin: "nadie@example.com", Request: "x", Day: "ayer", Limit: "1000", Cursor: "-1"})
	e, _ := domain.AsError(err)
	if e == nil || e.Code != domain.EINVALID || len(e.Fields) != 5 {
		t.Fatalf("bad filters: %v, want EINVALID naming admin, request, day, limit and cursor", err)
	}
}
