package worker_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/loandesk/loandesk/internal/client/identity"
	"github.com/loandesk/loandesk/internal/client/resilient"
	"github.com/loandesk/loandesk/internal/client/scoring"
	"github.com/loandesk/loandesk/internal/domain"
	"github.com/loandesk/loandesk/internal/obs"
	"github.com/loandesk/loandesk/internal/postgres"
	identityprov "github.com/loandesk/loandesk/internal/provider/identity"
	scoringprov "github.com/loandesk/loandesk/internal/provider/scoring"
	"github.com/loandesk/loandesk/internal/testenv"
	"github.com/loandesk/loandesk/internal/valkey"
	"github.com/loandesk/loandesk/internal/worker"
)

// switchable serves a provider's real handler, or 503 while it is "down".
type switchable struct {
	h    http.Handler
	down atomic.Bool
	hits atomic.Int32
}

func (s *switchable) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.hits.Add(1)
	if s.down.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	s.h.ServeHTTP(w, r)
}

type rig struct {
	db             *postgres.DB
	vk             *valkey.Store
	desk           *domain.Desk
	scoring, ident *switchable
	metrics        *obs.Metrics
}

func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{db: testenv.DB(t), vk: testenv.Valkey(t), metrics: obs.NewMetrics(),
		scoring: &switchable{h: scoringprov.Handler()}, ident: &switchable{h: identityprov.Handler()}}
	client := func(name string, h http.Handler) *resilient.Client {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		c, err := resilient.New(resilient.Config{Service: name, BaseURL: srv.URL, AttemptTimeout: 300 * time.Millisecond,
			Retries: 1, BackoffBase: time.Millisecond, BackoffMax: 5 * time.Millisecond,
			BreakerFailures: 1000, BreakerOpenFor: time.Second}, r.metrics)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	r.desk = &domain.Desk{Store: r.db, Queue: r.vk, Idempotency: r.vk,
		Scoring: scoring.New(client("scoring", r.scoring)), Identity: identity.New(client("identity", r.ident)),
		DecisionTimeout: time.Second, IdemWait: 2 * time.Second, Log: testenv.Logger()}
	return r
}

func (r *rig) worker(name string) *worker.Worker {
	return &worker.Worker{Queue: r.vk, Desk: r.desk, Consumer: name, Log: testenv.Logger(), Metrics: r.metrics,
		RetryBase: 20 * time.Millisecond, RetryMax: 100 * time.Millisecond, SweepEvery: 50 * time.Millisecond,
		NotQueuedFor: time.Minute, QueuedFor: 30 * time.Minute, Block: 20 * time.Millisecond}
}

func app(doc string) domain.Application {
	return domain.Application{FullName: "Ana Prueba", Email: "ana@example.com", DocumentNumber: doc, Gender: "F", Amount: 100000}
}

// runWorker runs w until the test ends.
func runWorker(t *testing.T, w *worker.Worker) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = w.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

// eventually polls cond until it holds or ten seconds pass.
func eventually(t *testing.T, what string, cond func() (ok bool, state string)) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still %s after 10 s", what, state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitStatus(t *testing.T, r *rig, code string, want domain.Status) {
	t.Helper()
	eventually(t, "request "+code+" to be "+string(want), func() (bool, string) {
		rec, err := r.desk.Track(context.Background(), code)
		return err == nil && rec.Status == want, fmt.Sprintf("%q (err %v)", rec.Status, err)
	})
}

func TestSubmitDecidesAtOnce(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	for _, tc := range []struct {
		doc    string
		status domain.Status
		reason domain.Reason
	}{
		{"30123950", domain.StatusApproved, domain.ReasonScore},
		{"30123120", domain.StatusRejected, domain.ReasonScore},
		{"99123950", domain.StatusRejected, domain.ReasonIdentity},
		{"30123000", domain.StatusRejected, domain.ReasonScore},
	} {
		sub, err := r.desk.Submit(ctx, "key-"+tc.doc, app(tc.doc))
		if err != nil {
			t.Fatalf("%s: %v", tc.doc, err)
		}
		if sub.Receipt.Status != tc.status || sub.Receipt.Reason != tc.reason || sub.Replayed {
			t.Errorf("%s: receipt %+v, want %s/%s", tc.doc, sub.Receipt, tc.status, tc.reason)
		}
	}
}

func TestRepeatedKeyReturnsTheFirstAnswer(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	first, err := r.desk.Submit(ctx, "repeat-key-1", app("30123950"))
	if err != nil {
		t.Fatal(err)
	}
	again, err := r.desk.Submit(ctx, "repeat-key-1", app("30123950"))
	if err != nil || !again.Replayed || !sameReceipt(again.Receipt, first.Receipt) {
		t.Fatalf("repeat = %+v, %v; want the first receipt replayed", again, err)
	}
	if _, err := r.desk.Submit(ctx, "repeat-key-1", app("30123951")); domain.ErrorCode(err) != domain.ECONFLICT {
		t.Fatalf("same key, other content: %v, want ECONFLICT", err)
	}
	st, _ := r.db.Stats(ctx)
	if st.Approved != 1 || st.InReview+st.Rejected != 0 {
		t.Fatalf("stats %+v, want exactly one request", st)
	}
}

func TestConcurrentSubmitsWithOneKeyMakeOneRequest(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	codes := make(chan string, 10)
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sub, err := r.desk.Submit(ctx, "double-click-1", app("30123950"))
			if err != nil {
				t.Error(err)
				return
			}
			codes <- sub.Receipt.TrackingCode
		}()
	}
	wg.Wait()
	close(codes)
	distinct := map[string]bool{}
	for c := range codes {
		distinct[c] = true
	}
	st, _ := r.db.Stats(ctx)
	if len(distinct) != 1 || st.Approved != 1 {
		t.Fatalf("%d tracking codes, stats %+v; want one request", len(distinct), st)
	}
}

func TestWorkerDecidesQueuedRequestsWhenServicesComeBack(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	r.scoring.down.Store(true)
	sub, err := r.desk.Submit(ctx, "outage-key-1", app("30123950"))
	if err != nil {
		t.Fatal(err)
	}
	if sub.Receipt.Status != domain.StatusInReview {
		t.Fatalf("status = %s while scoring is down, want in_review", sub.Receipt.Status)
	}
	runWorker(t, r.worker("w1"))
	// While scoring stays down the worker keeps retrying and decides nothing.
	time.Sleep(300 * time.Millisecond)
	if rec, _ := r.desk.Track(ctx, sub.Receipt.TrackingCode); rec.Status != domain.StatusInReview {
		t.Fatalf("decided while scoring was down: %+v", rec)
	}
	hits := r.scoring.hits.Load()
	if hits < 3 {
		t.Fatalf("worker tried scoring %d times during the outage, want retries", hits)
	}
	r.scoring.down.Store(false)
	waitStatus(t, r, sub.Receipt.TrackingCode, domain.StatusApproved)
	l, events, _ := r.desk.Detail(ctx, mustID(t, r, sub.Receipt.TrackingCode))
	if l.DecidedBy != "system" || len(events) != 1 || events[0].Action != domain.ActionDecide {
		t.Fatalf("decision trail: %+v %+v", l, events)
	}
	waitQueueEmpty(t, r)
}

func TestWorkerCrashMidMessageLosesNothing(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	r.ident.down.Store(true)
	sub, _ := r.desk.Submit(ctx, "crash-key-1", app("30123950"))
	if sub.Receipt.Status != domain.StatusInReview {
		t.Fatalf("status %s, want in_review", sub.Receipt.Status)
	}
	// A worker takes the message and dies without acknowledging it.
	if err := r.vk.EnsureGroup(ctx); err != nil {
		t.Fatal(err)
	}
	taken, err := r.vk.ReadNew(ctx, "doomed-worker", 10, 50*time.Millisecond)
	if err != nil || len(taken) != 1 {
		t.Fatalf("crashing worker read %+v, %v", taken, err)
	}
	r.ident.down.Store(false)
	runWorker(t, r.worker("survivor"))
	waitStatus(t, r, sub.Receipt.TrackingCode, domain.StatusApproved)
	waitQueueEmpty(t, r)
}

func TestRequestIsDecidedOnlyOnceWhenDeliveredTwice(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	r.scoring.down.Store(true)
	sub, _ := r.desk.Submit(ctx, "twice-key-1", app("30123950"))
	id := mustID(t, r, sub.Receipt.TrackingCode)
	// The same request queued twice (a sweeper re-queue and the original).
	_ = r.vk.Enqueue(ctx, id)
	r.scoring.down.Store(false)
	runWorker(t, r.worker("w-a"))
	runWorker(t, r.worker("w-b"))
	waitStatus(t, r, sub.Receipt.TrackingCode, domain.StatusApproved)
	waitQueueEmpty(t, r)
	_, events, _ := r.desk.Detail(ctx, id)
	if len(events) != 1 {
		t.Fatalf("%d decision events, want exactly 1: %+v", len(events), events)
	}
}

func TestSweeperQueuesRequestsThatMissedTheQueue(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	// Saved, but the process died before queueing: no queue entry at all.
	now := time.Now().UTC().Add(-5 * time.Minute)
	a := app("30123950")
	l, _, err := r.db.CreateLoan(ctx, &domain.LoanRequest{TrackingCode: domain.NewTrackingCode(), Application: a,
		Status: domain.StatusInReview, IdempotencyKey: "orphan-key-1", Fingerprint: a.Fingerprint(), CreatedAt: now, UpdatedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	runWorker(t, r.worker("sweeper"))
	waitStatus(t, r, l.TrackingCode, domain.StatusApproved)
}

func mustID(t *testing.T, r *rig, code string) int64 {
	t.Helper()
	l, err := r.db.LoanByTrackingCode(context.Background(), code)
	if err != nil {
		t.Fatal(err)
	}
	return l.ID
}

func waitQueueEmpty(t *testing.T, r *rig) {
	t.Helper()
	eventually(t, "queue to drain", func() (bool, string) {
		lag, pending, err := r.vk.QueueStats(context.Background())
		return err == nil && lag == 0 && pending == 0, fmt.Sprintf("lag %d pending %d (err %v)", lag, pending, err)
	})
}

func TestBackoffGrowsWithJitterAndIsBounded(t *testing.T) {
	w := &worker.Worker{RetryBase: time.Second, RetryMax: time.Minute}
	prev := time.Duration(0)
	for n := int64(1); n <= 6; n++ {
		d := w.Backoff("1700000000000-0", n)
		ceiling := min(time.Second<<(n-1), time.Minute)
		if d < ceiling/2 || d > ceiling {
			t.Fatalf("Backoff(%d) = %v, want within [%v, %v]", n, d, ceiling/2, ceiling)
		}
		if d < prev {
			t.Fatalf("Backoff(%d) = %v shrank from %v", n, d, prev)
		}
		prev = d
	}
	if d := w.Backoff("x", 1000); d > time.Minute {
		t.Fatalf("Backoff(1000) = %v exceeds the maximum", d)
	}
	if w.Backoff("1-0", 3) == w.Backoff("2-0", 3) && w.Backoff("3-0", 3) == w.Backoff("4-0", 3) {
		t.Fatal("no jitter between messages")
	}
}

func sameReceipt(a, b domain.Receipt) bool {
	return a.TrackingCode == b.TrackingCode && a.Status == b.Status && a.Reason == b.Reason && a.Amount == b.Amount &&
		a.CreatedAt.Equal(b.CreatedAt) && (a.DecidedAt == nil) == (b.DecidedAt == nil) &&
		(a.DecidedAt == nil || a.DecidedAt.Equal(*b.DecidedAt))
}
