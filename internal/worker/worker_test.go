package worker_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/loandesk/loandesk/internal/client/identity"
	"github.com/loandesk/loandesk/internal/client/resilient"
	"github.com/loandesk/loandesk/internal/client/scoring"
	"github.com/loandesk/loandesk/internal/domain"
	"github.com/loandesk/loandesk/internal/obs"
	"github.com/loandesk/loandesk/internal/postgres"
	identityprov "github.com/loandesk/loandesk/internal/provider/identity"
	scoringprov "github.com/loandesk/loandesk/internal/provider/scoring"
	"github.com/loandesk/loandesk/internal/testenv"
	"github.com/loandesk/loandesk/internal/worker"
)

// switchable serves a provider's real handler, or 503 while it is "down",
// after an optional delay.
type switchable struct {
	h     http.Handler
	down  atomic.Bool
	delay atomic.Int64
	hits  atomic.Int32
}

func (s *switchable) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.hits.Add(1)
	time.Sleep(time.Duration(s.delay.Load()))
	if s.down.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	s.h.ServeHTTP(w, r)
}

type rig struct {
	db             *postgres.DB
	sql            *pgxpool.Pool // the test's own SQL, around the adapter
	desk           *domain.Desk
	scoring, ident *switchable
	metrics        *obs.Metrics
}

func newRig(t *testing.T) *rig {
	t.Helper()
	url := testenv.DatabaseURL(t)
	db, err := postgres.Open(context.Background(), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	r := &rig{db: db, sql: testenv.SQL(t, url), metrics: obs.NewMetrics(),
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
	r.desk = &domain.Desk{Store: r.db,
		Scoring: scoring.New(client("scoring", r.scoring)), Identity: identity.New(client("identity", r.ident)),
		DecisionTimeout: time.Second, Log: testenv.Logger(),
		OnDecision: func(source string, s domain.Status) { r.metrics.Decisions.WithLabelValues(source, string(s)).Inc() }}
	return r
}

func (r *rig) worker() *worker.Worker {
	return &worker.Worker{Desk: r.desk, Queue: r.db, Log: testenv.Logger(), Metrics: r.metrics, TestOnly: true,
		Config: worker.Config{Concurrency: 5, RetryBase: 20 * time.Millisecond, RetryMax: 100 * time.Millisecond,
			JobTimeout: 2 * time.Second, RescueAfter: 3 * time.Second, DepthEvery: 50 * time.Millisecond}}
}

func app(doc string) domain.Application {
	return domain.Application{FullName: "Ana Prueba", Email: "ana@example.com", DocumentNumber: doc, Gender: "F", Amount: 100000}
}

// runWorker runs w until the test ends (or until stop is called).
func runWorker(t *testing.T, w *worker.Worker) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() { cancel(); err = <-done })
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
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
	runWorker(t, r.worker())
	// While scoring stays down the worker keeps retrying and decides nothing.
	eventually(t, "the worker to retry", func() (bool, string) {
		n := r.scoring.hits.Load()
		return n >= 6, fmt.Sprintf("%d calls to scoring", n)
	})
	if rec, _ := r.desk.Track(ctx, sub.Receipt.TrackingCode); rec.Status != domain.StatusInReview {
		t.Fatalf("decided while scoring was down: %+v", rec)
	}
	r.scoring.down.Store(false)
	waitStatus(t, r, sub.Receipt.TrackingCode, domain.StatusApproved)
	l, events, _ := r.desk.Detail(ctx, domain.System, mustID(t, r, sub.Receipt.TrackingCode))
	if l.DecidedBy != "system" || len(events) != 1 || events[0].Action != domain.ActionDecide {
		t.Fatalf("decision trail: %+v %+v", l, events)
	}
	waitQueueEmpty(t, r)
}

func TestAJobHeldByAWorkerThatDiedIsRescued(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	r.ident.down.Store(true)
	sub, _ := r.desk.Submit(ctx, "crash-key-1", app("30123950"))
	if sub.Receipt.Status != domain.StatusInReview {
		t.Fatalf("status %s, want in_review", sub.Receipt.Status)
	}
	// A worker took the job and was killed (-9) before finishing it: River
	// shows it running, attempted by a client that no longer exists.
	if _, err := r.sql.Exec(ctx, `UPDATE river_job SET state = 'running', attempt = 1,
		attempted_at = now() - interval '1 hour', attempted_by = ARRAY['killed-worker'] WHERE kind = 'decide'`); err != nil {
		t.Fatal(err)
	}
	r.ident.down.Store(false)
	runWorker(t, r.worker())
	waitStatus(t, r, sub.Receipt.TrackingCode, domain.StatusApproved)
	waitQueueEmpty(t, r)
}

func TestTwoWorkersRacingDecideEachRequestOnce(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	r.scoring.down.Store(true)
	const n = 40
	codes := make([]string, n)
	for i := range n {
		sub, err := r.desk.Submit(ctx, fmt.Sprintf("race-key-%03d", i), app(fmt.Sprintf("301239%02d", 50+i)))
		if err != nil || sub.Receipt.Status != domain.StatusInReview {
			t.Fatalf("submit %d: %+v %v", i, sub, err)
		}
		codes[i] = sub.Receipt.TrackingCode
	}
	r.scoring.down.Store(false)
	runWorker(t, r.worker())
	runWorker(t, r.worker())
	for _, code := range codes {
		waitStatus(t, r, code, domain.StatusApproved)
	}
	waitQueueEmpty(t, r)
	for _, code := range codes {
		if _, events, _ := r.desk.Detail(ctx, domain.System, mustID(t, r, code)); len(events) != 1 {
			t.Fatalf("%s has %d decision events, want exactly 1: %+v", code, len(events), events)
		}
	}
	if got := testutil.ToFloat64(r.metrics.Decisions.WithLabelValues("worker", "approved")); got != n {
		t.Fatalf("the workers took %v decisions, want %d", got, n)
	}
}

func TestTheLastAttemptLeavesTheRequestForAPerson(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	r.scoring.down.Store(true)
	sub, _ := r.desk.Submit(ctx, "last-key-1", app("30123950"))
	if _, err := r.sql.Exec(ctx, `UPDATE river_job SET max_attempts = 2 WHERE kind = 'decide'`); err != nil {
		t.Fatal(err)
	}
	runWorker(t, r.worker())
	waitQueueEmpty(t, r)
	l, err := r.db.LoanByTrackingCode(ctx, sub.Receipt.TrackingCode)
	if err != nil || l.Status != domain.StatusInReview || l.Reason != domain.ReasonManual || l.Undecided() {
		t.Fatalf("after the last attempt: %+v %v; want in review for a person", l, err)
	}
}

func TestStopLetsTheRunningJobFinish(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	r.scoring.down.Store(true)
	sub, _ := r.desk.Submit(ctx, "stop-key-1", app("30123950"))
	r.scoring.down.Store(false)
	r.scoring.delay.Store(int64(250 * time.Millisecond)) // within the 300 ms attempt timeout
	stop := runWorker(t, r.worker())
	eventually(t, "the job to start", func() (bool, string) {
		q, _ := r.db.QueueDepth(ctx)
		return q.Running == 1, fmt.Sprintf("%+v", q)
	})
	if err := stop(); err != nil { // SIGTERM while the provider is answering
		t.Fatal(err)
	}
	if rec, _ := r.desk.Track(ctx, sub.Receipt.TrackingCode); rec.Status != domain.StatusApproved {
		t.Fatalf("after a graceful stop the running job left %+v, want it finished", rec)
	}
}

func TestWorkerReportsDepthAndStalls(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	r.scoring.down.Store(true)
	_, _ = r.desk.Submit(ctx, "depth-key-1", app("30123950"))
	failing := &flakyQueue{Queue: r.db}
	w := r.worker()
	w.Queue, w.Config.StallAfter = failing, 300*time.Millisecond
	runWorker(t, w)
	eventually(t, "the depth gauge", func() (bool, string) {
		v := testutil.ToFloat64(r.metrics.QueueDepth.WithLabelValues("waiting")) + testutil.ToFloat64(r.metrics.QueueDepth.WithLabelValues("ready")) +
			testutil.ToFloat64(r.metrics.QueueDepth.WithLabelValues("running"))
		return v == 1 && w.Healthy(), fmt.Sprintf("depth %v, healthy %v", v, w.Healthy())
	})
	failing.fail.Store(true) // PostgreSQL unreachable from here
	eventually(t, "the worker to report itself stalled", func() (bool, string) { return !w.Healthy(), "healthy" })
	failing.fail.Store(false)
	eventually(t, "the worker to recover", func() (bool, string) { return w.Healthy(), "stalled" })
}

type flakyQueue struct {
	worker.Queue
	fail atomic.Bool
}

func (q *flakyQueue) QueueDepth(ctx context.Context) (domain.QueueDepth, error) {
	if q.fail.Load() {
		return domain.QueueDepth{}, domain.Errorf(domain.EUNAVAILABLE, "down")
	}
	return q.Queue.QueueDepth(ctx)
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
		q, err := r.db.QueueDepth(context.Background())
		return err == nil && q.Total() == 0, fmt.Sprintf("%+v (err %v)", q, err)
	})
}

func TestBackoffGrowsWithJitterAndIsBounded(t *testing.T) {
	w := &worker.Worker{Config: worker.Config{RetryBase: time.Second, RetryMax: time.Minute}}
	prev := time.Duration(0)
	for n := 1; n <= 6; n++ {
		d := w.Backoff(1700, n)
		ceiling := min(time.Second<<(n-1), time.Minute)
		if d < ceiling/2 || d > ceiling {
			t.Fatalf("Backoff(%d) = %v, want within [%v, %v]", n, d, ceiling/2, ceiling)
		}
		if d < prev {
			t.Fatalf("Backoff(%d) = %v shrank from %v", n, d, prev)
		}
		prev = d
	}
	if d := w.Backoff(9, 1000); d > time.Minute {
		t.Fatalf("Backoff(1000) = %v exceeds the maximum", d)
	}
	if w.Backoff(1, 3) == w.Backoff(2, 3) && w.Backoff(3, 3) == w.Backoff(4, 3) {
		t.Fatal("no jitter between jobs")
	}
}

func sameReceipt(a, b domain.Receipt) bool {
	return a.TrackingCode == b.TrackingCode && a.Status == b.Status && a.Reason == b.Reason && a.Amount == b.Amount &&
		a.CreatedAt.Equal(b.CreatedAt) && (a.DecidedAt == nil) == (b.DecidedAt == nil) &&
		(a.DecidedAt == nil || a.DecidedAt.Equal(*b.DecidedAt))
}

// The retention: a request decided longer ago than Retention loses its
// applicant's data when the worker starts (and every RetentionEvery), in
// batches until one comes back short; a recent one keeps it.
func TestTheWorkerErasesWhatIsPastItsRetention(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	file := func(key, doc string, decided time.Time) int64 {
		l := &domain.LoanRequest{TrackingCode: domain.NewTrackingCode(), Application: app(doc), Status: domain.StatusApproved,
			Reason: domain.ReasonScore, IdempotencyKey: key, CreatedAt: decided, UpdatedAt: decided, DecidedAt: &decided, DecidedBy: "system"}
		l.Fingerprint = l.Application.Fingerprint()
		saved, _, err := r.db.CreateLoan(ctx, l)
		if err != nil {
			t.Fatal(err)
		}
		return saved.ID
	}
	old := []int64{file("retention-old-1", "30111222", time.Now().AddDate(0, 0, -40)), file("retention-old-2", "30111333", time.Now().AddDate(0, 0, -31)),
		file("retention-old-3", "30111444", time.Now().AddDate(0, 0, -35))}
	recent := file("retention-new-1", "30111555", time.Now().AddDate(0, 0, -29))
	// The security log's own retention (730 days by default) on the same turns.
	if _, err := r.sql.Exec(ctx, `INSERT INTO security_events (kind, at) VALUES ('login_failed', now() - interval '800 days'),
		('login_ok', now() - interval '400 days')`); err != nil {
		t.Fatal(err)
	}
	w := r.worker()
	w.Config.Retention, w.Config.RetentionBatch = 30*24*time.Hour, 2
	runWorker(t, w)
	eventually(t, "the requests past the retention to be erased", func() (bool, string) {
		for _, id := range old {
			if l, err := r.db.LoanByID(ctx, id); err != nil || l.ErasedAt == nil {
				return false, fmt.Sprintf("request %d: %+v %v", id, l, err)
			}
		}
		return true, ""
	})
	if l, _ := r.db.LoanByID(ctx, recent); l.ErasedAt != nil || l.DocumentNumber != "30111555" {
		t.Fatalf("a request within the retention: %+v", l)
	}
	if l, _ := r.db.LoanByID(ctx, old[0]); l.FullName != "" || l.Status != domain.StatusApproved {
		t.Fatalf("an erased request: %+v, want its name gone and its decision kept", l)
	}
	eventually(t, "the security log past 730 days to be pruned", func() (bool, string) {
		ev, err := r.db.SecurityEvents(ctx, domain.AuditFilter{Limit: 10})
		return err == nil && len(ev) == 1 && ev[0].Kind == domain.EventLoginOK, fmt.Sprintf("%+v %v", ev, err)
	})
	trail, _ := r.db.AuditTrail(ctx, old[1])
	if last := trail[len(trail)-1]; last.Action != domain.ActionErase || last.Actor != domain.System.Name {
		t.Fatalf("the trail ends %+v", last)
	}
}

type depthFunc func(context.Context) (domain.QueueDepth, error)

func (f depthFunc) QueueDepth(ctx context.Context) (domain.QueueDepth, error) { return f(ctx) }

// The api watches the queue too: with every worker gone, its gauges still
// show the queue growing old, and an outage of PostgreSQL is one log line.
func TestWatchQueueKeepsTheAgesCurrentAndLogsAnOutageOnce(t *testing.T) {
	m := obs.NewMetrics()
	var buf bytes.Buffer
	var mu sync.Mutex
	log := slog.New(slog.NewJSONHandler(&lockedWriter{w: &buf, mu: &mu}, nil))
	var calls atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		worker.WatchQueue(ctx, depthFunc(func(context.Context) (domain.QueueDepth, error) {
			switch n := calls.Add(1); {
			case n <= 3:
				return domain.QueueDepth{}, domain.Errorf(domain.EUNAVAILABLE, "down")
			default:
				return domain.QueueDepth{Ready: 2, OldestReady: 75 * time.Second, Oldest: 9 * time.Minute}, nil
			}
		}), m, log, time.Millisecond)
	}()
	eventually(t, "the ages on the gauges", func() (bool, string) {
		r, a := testutil.ToFloat64(m.QueueAge.WithLabelValues("ready")), testutil.ToFloat64(m.QueueAge.WithLabelValues("any"))
		return r == 75 && a == 540 && testutil.ToFloat64(m.QueueDepth.WithLabelValues("ready")) == 2, fmt.Sprintf("ready %v, any %v", r, a)
	})
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if n := strings.Count(buf.String(), "reading the queue"); n != 1 {
		t.Fatalf("%d log lines for three failed reads in a row, want 1:\n%s", n, buf.String())
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
