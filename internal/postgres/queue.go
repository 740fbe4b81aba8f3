package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"
	"github.com/riverqueue/rivercontrib/otelriver"
	"go.opentelemetry.io/otel/propagation"

	"github.com/loandesk/loandesk/internal/domain"
)

// The queue of decisions the API could not take at once is River, in this
// database: a request and its job are saved in one transaction (no request
// without its job, no job without its request), and each job is locked by
// one worker at a time, retried with backoff, rescued from a worker that
// died holding it. This file is all of LoanDesk that knows River.

// decisionJob asks for one request's decision; "decide" in river_job.kind.
type decisionJob struct {
	RequestID int64 `json:"request_id"`
}

func (decisionJob) Kind() string { return "decide" }

// newInserter is the River client that only inserts jobs, inside this
// package's transactions. The filing's trace context goes into the job's
// metadata, so the decision joins the filing's trace.
func newInserter(pool *pgxpool.Pool) (*river.Client[pgx.Tx], error) {
	return river.NewClient(riverpgxv5.New(pool), &river.Config{
		Plugins: []rivertype.Plugin{otelriver.NewMiddleware(&otelriver.MiddlewareConfig{EnableTracePropagation: true})},
	})
}

// queueDecision queues request id's decision in tx.
func (db *DB) queueDecision(ctx context.Context, tx pgx.Tx, id int64) error {
	_, err := db.jobs.InsertTx(ctx, tx, decisionJob{RequestID: id}, &river.InsertOpts{MaxAttempts: domain.DecisionAttempts})
	return err
}

// QueueDepth counts the decision jobs not done yet, from River's table: the
// number the worker's metrics and its autoscaling on AWS follow, and the
// ages the alerts on a stalled queue read.
func (db *DB) QueueDepth(ctx context.Context) (domain.QueueDepth, error) {
	var q domain.QueueDepth
	var ready, oldest float64
	err := db.pool.QueryRow(ctx, `
		SELECT count(*) FILTER (WHERE state = 'available'),
		       count(*) FILTER (WHERE state IN ('scheduled', 'retryable', 'pending')),
		       count(*) FILTER (WHERE state = 'running'),
		       coalesce(extract(epoch FROM now() - min(scheduled_at) FILTER (WHERE state = 'available')), 0)::float8,
		       coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8
		FROM river_job
		WHERE kind = $1 AND state IN ('available', 'scheduled', 'retryable', 'pending', 'running')`,
		decisionJob{}.Kind()).Scan(&q.Ready, &q.Waiting, &q.Running, &ready, &oldest)
	// A clock a little behind the database's reads as no wait at all.
	q.OldestReady = max(time.Duration(ready*float64(time.Second)), 0)
	q.Oldest = max(time.Duration(oldest*float64(time.Second)), 0)
	return q, translate(err, "queue depth")
}

// Attempt is one try at a queued decision.
type Attempt struct {
	JobID, RequestID int64
	Number, Of       int // this try's number, of at most this many
}

// Last reports whether no try comes after this one.
func (a Attempt) Last() bool { return a.Number >= a.Of }

// WorkConfig is how WorkDecisions works the queue.
type WorkConfig struct {
	Concurrency int // jobs worked at once by this process
	// JobTimeout bounds one attempt; a job still marked running after
	// RescueAfter (its worker died) is given to another worker.
	JobTimeout, RescueAfter time.Duration
	StopTimeout             time.Duration // running jobs get this long to finish once ctx ends
	// NextRetry is the wait after a failed attempt.
	NextRetry func(a Attempt) time.Duration
	// Log is the queue's: River's own lines, and trouble starting it.
	Log *slog.Logger
	// TestOnly makes River skip its start-up jitter (tests only).
	TestOnly bool
	// Housekeeping, if set, is a River periodic job every
	// HousekeepingEvery (and once when a leader is elected): River's
	// leader inserts it, so it runs once a period whatever the replicas,
	// on any worker, within JobTimeout (what it leaves waits for the next).
	Housekeeping      func(ctx context.Context) error
	HousekeepingEvery time.Duration
}

// WorkDecisions works decision jobs with decide until ctx ends, then lets
// running ones finish within StopTimeout; started is told once the queue
// runs. A nil error from decide completes the job; any other is retried
// after NextRetry, up to domain.DecisionAttempts. It waits for PostgreSQL
// if it is not there yet.
func (db *DB) WorkDecisions(ctx context.Context, cfg WorkConfig, decide func(context.Context, Attempt) error, started func()) error {
	workers := river.NewWorkers()
	river.AddWorker(workers, &decider{cfg: cfg, decide: decide})
	var periodic []*river.PeriodicJob
	if cfg.Housekeeping != nil {
		river.AddWorker(workers, &housekeeper{run: cfg.Housekeeping, timeout: cfg.JobTimeout})
		periodic = append(periodic, river.NewPeriodicJob(river.PeriodicInterval(cfg.HousekeepingEvery),
			func() (river.JobArgs, *river.InsertOpts) {
				// One try: the next period's job does what this one could not.
				return housekeepingJob{}, &river.InsertOpts{MaxAttempts: 1}
			}, &river.PeriodicJobOpts{ID: housekeepingJob{}.Kind(), RunOnStart: true}))
	}
	client, err := river.NewClient(riverpgxv5.New(db.pool), &river.Config{
		PeriodicJobs:         periodic,
		Queues:               map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cfg.Concurrency}},
		Workers:              workers,
		JobTimeout:           cfg.JobTimeout,
		RescueStuckJobsAfter: cfg.RescueAfter,
		MaxAttempts:          domain.DecisionAttempts,
		// Past it, running jobs are cancelled on stop; River retries them.
		SoftStopTimeout: cfg.StopTimeout,
		// River reindexes its tables nightly; that needs their owner, and
		// the worker's role (on AWS) may only read and write them.
		ReindexerIndexNames: []string{},
		Logger:              cfg.Log,
		TestOnly:            cfg.TestOnly,
		// Each job's span joins the trace of the filing that queued it.
		Plugins: []rivertype.Plugin{joinFilingTrace, otelriver.NewMiddleware(&otelriver.MiddlewareConfig{EnableTracePropagation: true})},
	})
	if err != nil {
		return err
	}
	for {
		// Not ctx itself: cancelling Start's context would cancel running
		// jobs at once. A stop is asked for below, softly.
		err := client.Start(context.WithoutCancel(ctx))
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		cfg.Log.WarnContext(ctx, "starting the queue client; retrying", "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(2 * time.Second):
		}
	}
	started()
	select {
	case <-client.Stopped():
		return errors.New("the queue client stopped by itself")
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.StopTimeout+2*time.Second)
	defer cancel()
	if err := client.Stop(sctx); err != nil {
		return fmt.Errorf("stopping the queue client: %w", err)
	}
	return nil
}

// joinFilingTrace makes the trace context the filing stored in the job's
// metadata (otelriver, at insert) the parent of the job's work, so a request
// decided later is one trace from the applicant's POST to the decision.
// otelriver alone would only link the two traces.
var joinFilingTrace = river.WorkerMiddlewareFunc(func(ctx context.Context, job *rivertype.JobRow, work func(context.Context) error) error {
	var meta map[string]any
	if json.Unmarshal(job.Metadata, &meta) == nil {
		carrier := propagation.MapCarrier{}
		for _, k := range []string{"traceparent", "tracestate"} {
			if s, ok := meta[k].(string); ok {
				carrier[k] = s
			}
		}
		ctx = propagation.TraceContext{}.Extract(ctx, carrier)
	}
	return work(ctx)
})

// housekeepingJob is the periodic housekeeping (the retention of
// applicants' data and of the security log): "housekeeping" in
// river_job.kind, not counted in QueueDepth.
type housekeepingJob struct{}

func (housekeepingJob) Kind() string { return "housekeeping" }

type housekeeper struct {
	river.WorkerDefaults[housekeepingJob]
	run     func(context.Context) error
	timeout time.Duration
}

// Timeout keeps a run within the decisions' JobTimeout, so it ends before
// RescueAfter and is never rescued while it runs.
func (h *housekeeper) Timeout(*river.Job[housekeepingJob]) time.Duration { return h.timeout }

func (h *housekeeper) Work(ctx context.Context, _ *river.Job[housekeepingJob]) error {
	return h.run(ctx)
}

// decider is River's worker of decision jobs.
type decider struct {
	river.WorkerDefaults[decisionJob]
	cfg    WorkConfig
	decide func(context.Context, Attempt) error
}

func attemptOf(job *river.Job[decisionJob]) Attempt {
	return Attempt{JobID: job.ID, RequestID: job.Args.RequestID, Number: job.Attempt, Of: job.MaxAttempts}
}

func (d *decider) Timeout(*river.Job[decisionJob]) time.Duration { return d.cfg.JobTimeout }

func (d *decider) NextRetry(job *river.Job[decisionJob]) time.Time {
	return time.Now().Add(d.cfg.NextRetry(attemptOf(job)))
}

func (d *decider) Work(ctx context.Context, job *river.Job[decisionJob]) error {
	return d.decide(ctx, attemptOf(job))
}
