// Package worker decides the requests that the API could not decide at once.
// It reads the decision queue as a member of a consumer group, retries each
// request with exponential backoff and jitter until the providers answer, and
// acknowledges a message only once its request is decided: a worker that dies
// mid-message leaves it to be claimed by another (at-least-once), and the
// domain refuses a second decision (idempotent).
package worker

import (
	"context"
	"hash/fnv"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/loandesk/loandesk/internal/domain"
	"github.com/loandesk/loandesk/internal/obs"
)

// Queue is what the worker needs of the decision queue.
type Queue interface {
	EnsureGroup(ctx context.Context) error
	ReadNew(ctx context.Context, consumer string, count int, block time.Duration) ([]domain.QueuedRequest, error)
	ClaimDue(ctx context.Context, consumer string, count int, backoff func(id string, deliveries int64) time.Duration) ([]domain.QueuedRequest, error)
	Ack(ctx context.Context, id string) error
	QueueStats(ctx context.Context) (lag, pending int64, err error)
}

// Desk is what the worker needs of the loan desk.
type Desk interface {
	DecideQueued(ctx context.Context, id int64) (bool, error)
	RequeueStale(ctx context.Context, notQueuedFor, queuedFor time.Duration) (int, error)
}

// Worker is one consumer of the decision queue.
type Worker struct {
	Queue    Queue
	Desk     Desk
	Consumer string // unique per process, e.g. hostname-pid
	Log      *slog.Logger
	Metrics  *obs.Metrics

	RetryBase, RetryMax time.Duration
	// SweepEvery is how often undecided requests that missed the queue are
	// re-queued: those never queued for NotQueuedFor, or queued for QueuedFor.
	SweepEvery, NotQueuedFor, QueuedFor time.Duration
	Block                               time.Duration // how long one read waits for new messages

	heartbeat atomic.Int64
}

// Healthy reports whether the loop went round recently.
func (w *Worker) Healthy(within time.Duration) bool {
	return time.Since(time.Unix(0, w.heartbeat.Load())) < within
}

// Backoff is the wait before the n-th redelivery of a message: exponential
// from RetryBase up to RetryMax, with "equal jitter" derived from the message
// id, so that many requests queued in one outage do not retry in lockstep.
func (w *Worker) Backoff(id string, deliveries int64) time.Duration {
	d := w.RetryMax
	if deliveries < 30 {
		if e := w.RetryBase << max(deliveries-1, 0); e > 0 && e < w.RetryMax {
			d = e
		}
	}
	h := fnv.New32a()
	h.Write([]byte(id))
	frac := float64(h.Sum32()%1000) / 1000
	return d/2 + time.Duration(frac*float64(d/2))
}

// Run works until ctx is done.
func (w *Worker) Run(ctx context.Context) error {
	if err := w.Queue.EnsureGroup(ctx); err != nil {
		return err
	}
	w.heartbeat.Store(time.Now().UnixNano())
	var lastSweep time.Time
	for ctx.Err() == nil {
		w.heartbeat.Store(time.Now().UnixNano())
		if time.Since(lastSweep) >= w.SweepEvery {
			lastSweep = time.Now()
			w.sweep(ctx)
		}
		due, err := w.Queue.ClaimDue(ctx, w.Consumer, 50, w.Backoff)
		if err != nil {
			w.pause(ctx, "claiming due messages", err)
			continue
		}
		for _, m := range due {
			w.handle(ctx, m)
		}
		fresh, err := w.Queue.ReadNew(ctx, w.Consumer, 10, w.Block)
		if err != nil {
			w.pause(ctx, "reading new messages", err)
			continue
		}
		for _, m := range fresh {
			w.handle(ctx, m)
		}
	}
	w.Log.Info("worker stopped")
	return nil
}

func (w *Worker) pause(ctx context.Context, what string, err error) {
	if ctx.Err() != nil {
		return
	}
	w.Log.ErrorContext(ctx, what, "err", err)
	select {
	case <-ctx.Done():
	case <-time.After(time.Second):
	}
}

func (w *Worker) sweep(ctx context.Context) {
	n, err := w.Desk.RequeueStale(ctx, w.NotQueuedFor, w.QueuedFor)
	if err != nil {
		w.Log.ErrorContext(ctx, "re-queueing stale requests", "err", err)
	} else if n > 0 {
		w.Log.WarnContext(ctx, "re-queued requests that missed the queue", "count", n)
	}
	if lag, pending, err := w.Queue.QueueStats(ctx); err == nil {
		w.Metrics.QueueLag.Set(float64(lag))
		w.Metrics.QueuePending.Set(float64(pending))
		// One line per sweep: on AWS a log metric filter turns "depth" into
		// the LoanDesk/QueueDepth metric the worker service scales on.
		w.Log.InfoContext(ctx, "queue stats", "lag", lag, "pending", pending, "depth", lag+pending)
	}
}

func (w *Worker) handle(ctx context.Context, m domain.QueuedRequest) {
	ctx = obs.WithRequestID(ctx, "worker-"+m.ID)
	if m.RequestID <= 0 {
		w.Log.ErrorContext(ctx, "dropping malformed queue message", "message_id", m.ID)
		w.ack(ctx, m)
		return
	}
	done, err := w.Desk.DecideQueued(ctx, m.RequestID)
	if err != nil {
		level := slog.LevelInfo
		if domain.ErrorCode(err) != domain.EUNAVAILABLE {
			level = slog.LevelError
		}
		w.Log.Log(ctx, level, "request not decided; will retry", "request_id", m.RequestID,
			"deliveries", m.Deliveries, "next_try_in", w.Backoff(m.ID, m.Deliveries+1).String(), "err", err)
		return
	}
	if done {
		w.Log.InfoContext(ctx, "request handled", "request_id", m.RequestID, "deliveries", m.Deliveries)
		w.ack(ctx, m)
	}
}

func (w *Worker) ack(ctx context.Context, m domain.QueuedRequest) {
	// Acknowledge even while shutting down: the decision is already saved.
	if err := w.Queue.Ack(context.WithoutCancel(ctx), m.ID); err != nil {
		w.Log.ErrorContext(ctx, "acknowledging; the message will be handled again (harmless)", "message_id", m.ID, "err", err)
	}
}
