package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"

	"github.com/loandesk/loandesk/internal/domain"
)

// When a statement's context ends, pgx by default closes the connection at
// once: the server then forks a process for the cancel request and another,
// with a SCRAM exchange, for the pool's replacement (one per member tried
// with target_session_attrs). Every applicant who gives up a filing would
// cost the database three processes. Measured on the Swarm rehearsal (two
// cores, three nodes): after a switchover slowed filings for a few seconds,
// the clients' timeouts churned connections so fast that the machine's load
// average reached 70 and filings failed for minutes after the database was
// well again.
//
// So a caller who hangs up (the cause domain.ErrCallerGone) lets the statement finish:
// ours take milliseconds. One still running after cancelGrace is cancelled
// by the server (57014), and the connection goes back to the pool; only a
// server silent for cancelSilence more is given up on. A deadline of ours
// (a ping's second, a save's 5 s) or any other cancel (River interrupts its
// LISTEN every few seconds, a worker stops) still closes, or interrupts, at
// once, as pgx does by default.
const (
	cancelGrace   = time.Second
	cancelSilence = 2 * time.Second
)

func newCancelHandler(c *pgconn.PgConn) ctxwatch.Handler {
	return &cancelHandler{
		hungUp:   &pgconn.CancelRequestContextWatcherHandler{Conn: c, CancelRequestDelay: cancelGrace, DeadlineDelay: cancelGrace + cancelSilence},
		deadline: &pgconn.DeadlineContextWatcherHandler{Conn: c.Conn()},
	}
}

// cancelHandler picks, per cancelled statement, how to end it (pgx calls
// HandleUnwatchAfterCancel only after HandleCancel, on the same connection,
// one statement at a time).
type cancelHandler struct {
	hungUp, deadline, active ctxwatch.Handler
}

func (h *cancelHandler) HandleCancel(ctx context.Context) {
	h.active = h.deadline
	if errors.Is(context.Cause(ctx), domain.ErrCallerGone) {
		h.active = h.hungUp
	}
	h.active.HandleCancel(ctx)
}

func (h *cancelHandler) HandleUnwatchAfterCancel() { h.active.HandleUnwatchAfterCancel() }
