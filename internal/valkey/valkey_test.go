package valkey_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/loandesk/loandesk/internal/domain"
	"github.com/loandesk/loandesk/internal/testenv"
)

func TestSessions(t *testing.T) {
	s, ctx := testenv.Valkey(t), context.Background()
	token, err := s.CreateSession(ctx, domain.Session{AdminID: 7, Email: "a@x.com", CSRFToken: "c"}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Session(ctx, token)
	if err != nil || got.AdminID != 7 || got.CSRFToken != "c" {
		t.Fatalf("Session() = %+v, %v", got, err)
	}
	if _, err := s.Session(ctx, token+"x"); domain.ErrorCode(err) != domain.EUNAUTHORIZED {
		t.Fatalf("unknown token: %v", err)
	}
	_ = s.DeleteSession(ctx, token)
	if _, err := s.Session(ctx, token); domain.ErrorCode(err) != domain.EUNAUTHORIZED {
		t.Fatalf("deleted session still valid: %v", err)
	}
	short, _ := s.CreateSession(ctx, domain.Session{AdminID: 1}, 50*time.Millisecond)
	time.Sleep(120 * time.Millisecond)
	if _, err := s.Session(ctx, short); domain.ErrorCode(err) != domain.EUNAUTHORIZED {
		t.Fatalf("expired session still valid: %v", err)
	}
}

func TestCounters(t *testing.T) {
	s, ctx := testenv.Valkey(t), context.Background()
	for i := 1; i <= 3; i++ {
		n, ttl, err := s.Incr(ctx, "k", time.Minute)
		if err != nil || n != i || ttl <= 0 || ttl > time.Minute {
			t.Fatalf("Incr #%d = %d, %v, %v", i, n, ttl, err)
		}
	}
	if n, _, _ := s.Count(ctx, "k"); n != 3 {
		t.Fatalf("Count = %d", n)
	}
	_ = s.Reset(ctx, "k")
	if n, _, _ := s.Count(ctx, "k"); n != 0 {
		t.Fatalf("Count after reset = %d", n)
	}
	_, _, _ = s.Incr(ctx, "w", 50*time.Millisecond)
	time.Sleep(120 * time.Millisecond)
	if n, _, _ := s.Count(ctx, "w"); n != 0 {
		t.Fatalf("window did not expire: %d", n)
	}
}

func TestIdempotencyKeys(t *testing.T) {
	s, ctx := testenv.Valkey(t), context.Background()
	st, _, err := s.Begin(ctx, "key-1", "fp")
	if err != nil || st != domain.IdemNew {
		t.Fatalf("first Begin = %v, %v", st, err)
	}
	if st, _, _ := s.Begin(ctx, "key-1", "fp"); st != domain.IdemPending {
		t.Fatalf("second Begin = %v, want pending", st)
	}
	if _, _, err := s.Begin(ctx, "key-1", "other"); domain.ErrorCode(err) != domain.ECONFLICT {
		t.Fatalf("other content: %v, want ECONFLICT", err)
	}
	rec := domain.Receipt{TrackingCode: "LD-0000000000", Status: domain.StatusApproved}
	if err := s.Complete(ctx, "key-1", "fp", rec); err != nil {
		t.Fatal(err)
	}
	st, got, err := s.Begin(ctx, "key-1", "fp")
	if err != nil || st != domain.IdemDone || got.TrackingCode != rec.TrackingCode {
		t.Fatalf("after Complete: %v %+v %v", st, got, err)
	}
	_, _, _ = s.Begin(ctx, "key-2", "fp")
	_ = s.Release(ctx, "key-2")
	if st, _, _ := s.Begin(ctx, "key-2", "fp"); st != domain.IdemNew {
		t.Fatalf("after Release: %v, want new", st)
	}
}

func TestOnlyOneClaimsAKey(t *testing.T) {
	s, ctx := testenv.Valkey(t), context.Background()
	var wg sync.WaitGroup
	var mu sync.Mutex
	owners := 0
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if st, _, _ := s.Begin(ctx, "race", "fp"); st == domain.IdemNew {
				mu.Lock()
				owners++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if owners != 1 {
		t.Fatalf("%d callers own the key, want 1", owners)
	}
}

func TestQueueDeliversUntilAcknowledged(t *testing.T) {
	s, ctx := testenv.Valkey(t), context.Background()
	if err := s.EnsureGroup(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.EnsureGroup(ctx); err != nil {
		t.Fatalf("EnsureGroup is not idempotent: %v", err)
	}
	for _, id := range []int64{11, 12} {
		if err := s.Enqueue(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if lag, _, _ := s.QueueStats(ctx); lag != 2 {
		t.Fatalf("lag = %d, want 2", lag)
	}
	// Worker A reads both and dies before acknowledging.
	msgs, err := s.ReadNew(ctx, "worker-a", 10, 10*time.Millisecond)
	if err != nil || len(msgs) != 2 || msgs[0].RequestID != 11 {
		t.Fatalf("ReadNew = %+v, %v", msgs, err)
	}
	if more, _ := s.ReadNew(ctx, "worker-b", 10, 10*time.Millisecond); len(more) != 0 {
		t.Fatalf("new messages delivered twice: %+v", more)
	}
	noWait := func(string, int64) time.Duration { return 0 }
	longWait := func(string, int64) time.Duration { return time.Hour }
	if due, _ := s.ClaimDue(ctx, "worker-b", 10, longWait); len(due) != 0 {
		t.Fatalf("claimed before the backoff: %+v", due)
	}
	due, err := s.ClaimDue(ctx, "worker-b", 10, noWait)
	if err != nil || len(due) != 2 || due[0].Deliveries != 2 {
		t.Fatalf("ClaimDue = %+v, %v; want both, second delivery", due, err)
	}
	_ = s.Ack(ctx, due[0].ID)
	_ = s.Ack(ctx, due[1].ID)
	if due, _ := s.ClaimDue(ctx, "worker-c", 10, noWait); len(due) != 0 {
		t.Fatalf("acknowledged messages came back: %+v", due)
	}
	if lag, pending, _ := s.QueueStats(ctx); lag != 0 || pending != 0 {
		t.Fatalf("lag %d pending %d after ack, want 0/0", lag, pending)
	}
}
