package postgres

import (
	"context"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/sethvargo/go-retry"
)

// PrimaryWait bounds how long a filing's write waits for a primary that is
// moving: a planned switchover leaves no member taking writes for a second
// or two, and the old primary ends its sessions. Waiting that out here turns
// a switchover into a slower answer instead of a 503; a primary lost with its
// machine takes longer (Patroni's ttl) and still gets the 503, after this.
const PrimaryWait = 5 * time.Second

// onPrimary runs write, again while its error says the primary is moving
// (primaryMoving), begun within db.primaryWait and ctx. Only
// writes that are idempotent by their key use it (a claim, a filing): one
// that did commit before its connection died is found by the repeat, never
// doubled (and CreateLoan knows it for its own: ours).
func (db *DB) onPrimary(ctx context.Context, write func(ctx context.Context) error) error {
	var last error
	// No attempt begins after primaryWait; the last one is bounded by the
	// connection's connect_timeout (3 s) or statement_timeout (5 s). Not by a
	// deadline of ours: a statement cancelled while its commit waits for the
	// synchronous standby has committed on the primary all the same, and a
	// claim that committed unseen holds its own key against the retry.
	b := retry.WithMaxDuration(db.primaryWait, retry.WithCappedDuration(time.Second,
		retry.WithJitterPercent(20, retry.NewExponential(100*time.Millisecond))))
	err := retry.Do(ctx, b, func(ctx context.Context) error {
		last = write(ctx)
		if primaryMoving(last) {
			return retry.RetryableError(last)
		}
		return last
	})
	if err != nil && last != nil && ctx.Err() != nil {
		return last // the caller's deadline ended the wait: say what the database said
	}
	return err
}

// primaryMoving: the error of a write that met no primary, and may meet one
// in a moment. A member that takes no writes (a standby, an old primary:
// errNotPrimary, 25006), a session ended by a server shutting down or not
// yet up (57P01-57P03), a broken connection (08, EOF), and a connection that
// could not be made (refused, or no member accepts writes yet) — but not a
// refused login (28) or a missing database (3D000), which waiting cannot
// mend, nor a silent server (a timeout: the pool's ping already bounds it),
// nor a full one (53: retrying adds load).
func primaryMoving(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err) {
		return false
	}
	if errors.Is(err, errNotPrimary) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		c := pgErr.Code
		return c == "25006" || c == "57P01" || c == "57P02" || c == "57P03" || strings.HasPrefix(c, "08")
	}
	var connectErr *pgconn.ConnectError
	return errors.As(err, &connectErr) || pgconn.SafeToRetry(err) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || strings.Contains(err.Error(), "conn closed")
}
