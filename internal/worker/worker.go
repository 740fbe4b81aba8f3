// Package worker decides the requests that the API could not decide at once.
// It works the queue of decisions in PostgreSQL (internal/postgres owns it:
// each job is saved in the same transaction as its request, locked by one
// worker at a time, rescued from a worker that died holding it), with
// exponential backoff and jitter between attempts until the providers
// answer; it reports the queue's depth and its own health. Several workers
// are safe by construction, and the domain refuses a second decision anyway.
package worker

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/loandesk/loandesk/internal/domain"
	"github.com/loandesk/loandesk/internal/obs"
	"github.com/loandesk/loandesk/internal/postgres"
)

// Desk is what the worker needs of the loan desk.
type Desk interface {
	DecideQueued(ctx context.Context, id int64, lastAttempt bool) error
}

// Queue is the queue of decisions (implemented by *postgres.DB).
type Queue interface {
	// WorkDecisions works jobs with decide until ctx ends (see postgres).
	WorkDecisions(ctx context.Context, cfg postgres.WorkConfig, decide func(context.Context, postgres.Attempt) error, started func()) error
	// QueueDepth reports how many decision jobs are not done yet.
	QueueDepth(ctx context.Context) (domain.QueueDepth, error)
	// FoldCounts compacts the daily counts of past days (housekeeping
	// that needs no leader: folding twice at once is safe).
	FoldCounts(ctx context.Context) (int64, error)
	// EraseExpired erases the applicant's data of up to limit requests
	// decided (or filed, if never decided) before before.
	EraseExpired(ctx context.Context, before time.Time, limit int) (int, error)
	// PruneSecurityEvents deletes up to limit security events older than
	// keepDays (the database refuses under 365).
	PruneSecurityEvents(ctx context.Context, keepDays, limit int) (int, error)
}

// Config tunes a worker; zero fields take the defaults below.
type Config struct {
	Concurrency         int           // jobs worked at once by this process
	RetryBase, RetryMax time.Duration // backoff between attempts at one request
	// JobTimeout bounds one attempt; a job still marked running after
	// RescueAfter (its worker died) is given to another worker. An attempt
	// may outlive its JobTimeout by the save of its decision (at most
	// domain.SaveTimeout), so RescueAfter is always longer than both: a
	// live attempt is never rescued, and no job runs twice at once.
	JobTimeout, RescueAfter time.Duration
	StopTimeout             time.Duration // running jobs get this long to finish on SIGTERM
	// DepthEvery is how often the queue depth is read for metrics and logs;
	// the worker reports itself stalled when that fails for StallAfter.
	DepthEvery, StallAfter time.Duration
	// FoldEvery is how often the daily counts of past days are compacted.
	FoldEvery time.Duration
	// Retention is how long a request keeps its applicant's name, email
	// and document number after its decision (or its filing, if never
	// decided); every RetentionEvery a River periodic job erases those past
	// it, in batches of RetentionBatch, at most RetentionBatches a turn
	// (within JobTimeout).
	Retention, RetentionEvery        time.Duration
	RetentionBatch, RetentionBatches int
	// SecurityLogDays is how long the security log keeps an event (at
	// least 365); pruned on the same turns and in the same batches.
	SecurityLogDays int
}

// Defaults for Config.
var Defaults = Config{
	Concurrency: 20, RetryBase: 2 * time.Second, RetryMax: time.Minute,
	JobTimeout: 15 * time.Second, RescueAfter: 30 * time.Second, StopTimeout: 5 * time.Second,
	DepthEvery: 5 * time.Second, StallAfter: 2 * time.Minute, FoldEvery: 10 * time.Minute,
	Retention: 365 * 24 * time.Hour, RetentionEvery: time.Hour, RetentionBatch: 500, RetentionBatches: 20,
	SecurityLogDays: 730,
}

func (c Config) withDefaults() Config {
	or := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	if c.Concurrency <= 0 {
		c.Concurrency = Defaults.Concurrency
	}
	or(&c.RetryBase, Defaults.RetryBase)
	or(&c.RetryMax, Defaults.RetryMax)
	or(&c.JobTimeout, Defaults.JobTimeout)
	or(&c.RescueAfter, Defaults.RescueAfter)
	or(&c.StopTimeout, Defaults.StopTimeout)
	or(&c.DepthEvery, Defaults.DepthEvery)
	or(&c.StallAfter, Defaults.StallAfter)
	or(&c.FoldEvery, Defaults.FoldEvery)
	or(&c.Retention, Defaults.Retention)
	or(&c.RetentionEvery, Defaults.RetentionEvery)
	if c.RetentionBatch <= 0 {
		c.RetentionBatch = Defaults.RetentionBatch
	}
	if c.RetentionBatches <= 0 {
		c.RetentionBatches = Defaults.RetentionBatches
	}
	if c.SecurityLogDays <= 0 {
		c.SecurityLogDays = Defaults.SecurityLogDays
	}
	c.RescueAfter = max(c.RescueAfter, c.JobTimeout+domain.SaveTimeout+5*time.Second)
	return c
}

// Worker is one process's share of the decision queue.
type Worker struct {
	Desk    Desk
	Queue   Queue
	Log     *slog.Logger
	Metrics *obs.Metrics
	Config  Config
	// TestOnly makes River skip its start-up jitter (tests only).
	TestOnly bool

	lastDepth atomic.Int64 // unix nanoseconds of the last successful depth read
	started   atomic.Int64
}

// Healthy reports whether the worker could read its queue recently: a
// worker cut off from PostgreSQL for longer than StallAfter (a revoked or
// rotated password, a broken network) should be replaced.
func (w *Worker) Healthy() bool {
	last := max(w.lastDepth.Load(), w.started.Load())
	return last > 0 && time.Since(time.Unix(0, last)) < w.Config.withDefaults().StallAfter
}

// Backoff is the wait after the n-th failed attempt at a job: exponential
// from RetryBase up to RetryMax, with "equal jitter" derived from the job
// id, so that many requests queued in one outage do not retry in lockstep.
func (w *Worker) Backoff(jobID int64, attempt int) time.Duration {
	c := w.Config.withDefaults()
	d := c.RetryMax
	if attempt < 30 {
		if e := c.RetryBase << max(attempt-1, 0); e > 0 && e < c.RetryMax {
			d = e
		}
	}
	h := fnv.New32a()
	h.Write([]byte(strconv.FormatInt(jobID, 10)))
	frac := float64(h.Sum32()%1000) / 1000
	return d/2 + time.Duration(frac*float64(d/2))
}

// Run works jobs until ctx is done, then lets running jobs finish within
// StopTimeout. It waits for PostgreSQL if it is not there yet.
func (w *Worker) Run(ctx context.Context) error {
	c := w.Config.withDefaults()
	queued := make(chan error, 1)
	running := make(chan struct{})
	go func() {
		queued <- w.Queue.WorkDecisions(ctx, postgres.WorkConfig{
			Concurrency: c.Concurrency, JobTimeout: c.JobTimeout, RescueAfter: c.RescueAfter, StopTimeout: c.StopTimeout,
			NextRetry: func(a postgres.Attempt) time.Duration { return w.Backoff(a.JobID, a.Number) },
			// River's own lines are about the queue's machinery; the worker
			// logs each job, so River speaks only of trouble.
			Log:      slog.New(obs.MinLevel(w.Log.Handler(), slog.LevelWarn)),
			TestOnly: w.TestOnly,
			// The retentions, as a River periodic job: once a period across
			// the replicas (River's leader inserts it).
			Housekeeping:      func(ctx context.Context) error { w.eraseExpired(ctx, c); return nil },
			HousekeepingEvery: c.RetentionEvery,
		}, w.decide, func() { close(running) })
	}()
	select {
	case err := <-queued: // stopped before it ran
		return err
	case <-running:
	}
	w.started.Store(time.Now().UnixNano())
	w.Log.InfoContext(ctx, "working decision jobs", "concurrency", c.Concurrency)
	w.reportDepth(ctx)
	w.foldCounts(ctx)
	tick := time.NewTicker(c.DepthEvery)
	defer tick.Stop()
	fold := time.NewTicker(c.FoldEvery)
	defer fold.Stop()
	done := ctx.Done()
	for {
		select {
		case <-tick.C:
			w.reportDepth(ctx)
		case <-fold.C:
			w.foldCounts(ctx)
		case err := <-queued:
			if ctx.Err() == nil {
				return fmt.Errorf("the queue stopped by itself: %w", err)
			}
			if err != nil {
				return err
			}
			w.Log.Info("worker stopped")
			return nil
		case <-done:
			// The queue stops softly on its own (postgres.WorkDecisions);
			// wait for it.
			w.Log.Info("stopping: letting running jobs finish", "within", c.StopTimeout.String())
			done = nil
			tick.Stop()
			fold.Stop()
		}
	}
}

// foldCounts compacts the daily counts; a failure waits for the next turn.
func (w *Worker) foldCounts(ctx context.Context) {
	n, err := w.Queue.FoldCounts(ctx)
	if err != nil {
		if ctx.Err() == nil {
			w.Log.WarnContext(ctx, "folding the daily counts", "err", err)
		}
		return
	}
	if n > 0 {
		w.Log.InfoContext(ctx, "folded the daily counts of past days", "rows_written", n)
	}
}

// eraseExpired erases the applicant's data of requests past the retention,
// and prunes the security log past its own, batch after batch until one
// comes back short, at most RetentionBatches a turn each (the rest waits
// for the next); a failure waits for the next turn. Two replicas at it at
// once skip each other's rows.
func (w *Worker) eraseExpired(ctx context.Context, c Config) {
	for _, job := range []struct {
		what, done string
		run        func() (int, error)
		attrs      []any
	}{
		{"erasing the personal data past its retention", "erased the personal data of requests past their retention",
			func() (int, error) { return w.Queue.EraseExpired(ctx, time.Now().Add(-c.Retention), c.RetentionBatch) },
			[]any{"retention", c.Retention.String()}},
		{"pruning the security log past its retention", "pruned the security log past its retention",
			func() (int, error) { return w.Queue.PruneSecurityEvents(ctx, c.SecurityLogDays, c.RetentionBatch) },
			[]any{"days", c.SecurityLogDays}},
	} {
		total := 0
		for range c.RetentionBatches {
			n, err := job.run()
			if err != nil {
				if ctx.Err() == nil {
					w.Log.WarnContext(ctx, job.what, "err", err)
				}
				break
			}
			total += n
			if n < c.RetentionBatch {
				break
			}
		}
		if total > 0 {
			w.Log.InfoContext(ctx, job.done, append([]any{"rows", total}, job.attrs...)...)
		}
	}
}

// reportDepth reads the queue depth for /metrics, and logs it: on AWS a
// log metric filter turns "depth" into the metric the worker scales on.
func (w *Worker) reportDepth(ctx context.Context) {
	q, err := w.Queue.QueueDepth(ctx)
	if err != nil {
		if ctx.Err() == nil {
			w.Log.WarnContext(ctx, "reading the queue depth", "err", err)
		}
		return
	}
	w.lastDepth.Store(time.Now().UnixNano())
	setQueueGauges(w.Metrics, q)
	w.Log.InfoContext(ctx, "queue stats", "ready", q.Ready, "waiting", q.Waiting, "running", q.Running, "depth", q.Total())
}

func setQueueGauges(m *obs.Metrics, q domain.QueueDepth) {
	m.QueueDepth.WithLabelValues("ready").Set(float64(q.Ready))
	m.QueueDepth.WithLabelValues("waiting").Set(float64(q.Waiting))
	m.QueueDepth.WithLabelValues("running").Set(float64(q.Running))
	m.QueueAge.WithLabelValues("ready").Set(q.OldestReady.Seconds())
	m.QueueAge.WithLabelValues("any").Set(q.Oldest.Seconds())
}

// WatchQueue keeps the queue's gauges current, every `every`, in a process
// that does not work the queue (the api): with no worker running, someone
// must still see the queue grow old. Until ctx is done. It logs only its
// first failure in a row, so a long outage is one line.
func WatchQueue(ctx context.Context, q interface {
	QueueDepth(context.Context) (domain.QueueDepth, error)
}, m *obs.Metrics, log *slog.Logger, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	failing := false
	for {
		d, err := q.QueueDepth(ctx)
		switch {
		case err == nil:
			setQueueGauges(m, d)
			failing = false
		case ctx.Err() != nil:
		case !failing:
			log.WarnContext(ctx, "reading the queue's depth and age", "err", err)
			failing = true
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// decide is one attempt at a queued decision: the desk's step, logged.
func (w *Worker) decide(ctx context.Context, a postgres.Attempt) error {
	ctx = obs.WithRequestID(ctx, "job-"+strconv.FormatInt(a.JobID, 10))
	log := w.Log.With("loan_id", a.RequestID, "attempt", a.Number)
	err := w.Desk.DecideQueued(ctx, a.RequestID, a.Last())
	if err != nil {
		level := slog.LevelInfo
		if domain.ErrorCode(err) != domain.EUNAVAILABLE {
			level = slog.LevelError
		}
		log.Log(ctx, level, "request not decided; will retry", "next_try_in", w.Backoff(a.JobID, a.Number).String(), "err", err)
		return err
	}
	log.InfoContext(ctx, "request handled")
	return nil
}
