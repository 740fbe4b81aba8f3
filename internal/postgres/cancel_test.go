package postgres_test

import (
	"context"
	"errors"
	neturl "net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/loandesk/loandesk/internal/domain"
	"github.com/loandesk/loandesk/internal/testenv"
)

// A client who hangs up while its statement waits costs no connection: the
// statement is left to finish (or the server cancels it) and the pool keeps
// the connection, where pgx's default would close it and open another —
// three processes forked on the server, per applicant who gives up. Any
// other cancel still drops the connection at once: that half shows the
// first would fail without the cause.
func TestAClientWhoHangsUpCostsNoConnection(t *testing.T) {
	url := testenv.DatabaseURL(t)
	u, err := neturl.Parse(url)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("pool_max_conns", "1") // the one connection: the same backend, or a new one
	u.RawQuery = q.Encode()
	db := openAt(t, u.String())
	ctx := context.Background()
	holder, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { holder.Close(ctx) })
	backend := func() int {
		var pid int
		if err := db.Pool().QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
			t.Fatal(err)
		}
		return pid
	}
	// hangUp cancels, with cause, a statement that waits on a lock the test
	// holds, once the server says it waits; then frees the lock. A cancel
	// that interrupts (any but a hang-up) is waited for with the lock
	// still held: freed at once, the lock could let the statement finish
	// before a busy machine's cancel reached the server (which failed a CI
	// run). If it never interrupts, the statement ends when the lock is
	// freed after 30 s, and the test fails as it should.
	hangUp := func(cause error) error {
		if _, err := holder.Exec(ctx, "SELECT pg_advisory_lock(7401)"); err != nil {
			t.Fatal(err)
		}
		sctx, cancel := context.WithCancelCause(ctx)
		done := make(chan error, 1)
		go func() {
			_, err := db.Pool().Exec(sctx, "SELECT pg_advisory_xact_lock_shared(7401)")
			done <- err
		}()
		for waiting := 0; waiting == 0; {
			if err := holder.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND wait_event = 'advisory'").Scan(&waiting); err != nil {
				t.Fatal(err)
			}
			time.Sleep(10 * time.Millisecond)
		}
		cancel(cause)
		var err error
		interrupted := false
		if !errors.Is(cause, domain.ErrCallerGone) {
			select {
			case err = <-done:
				interrupted = true
			case <-time.After(30 * time.Second):
			}
		}
		if _, err := holder.Exec(ctx, "SELECT pg_advisory_unlock(7401)"); err != nil {
			t.Fatal(err)
		}
		if !interrupted {
			err = <-done
		}
		return err
	}

	before := backend()
	err = hangUp(domain.ErrCallerGone)
	if after := backend(); after != before {
		t.Fatalf("a client who hung up cost the connection (backend %d, then %d; the statement: %v)", before, after, err)
	}
	// A hang-up during a transaction's last statement: no commit, and the
	// connection stays.
	tctx, cancel := context.WithCancelCause(ctx)
	err = db.InTx(tctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(tctx, "SELECT 1")
		cancel(domain.ErrCallerGone)
		return err
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("a transaction whose caller hung up: %v, want it not committed (context.Canceled)", err)
	}
	if after := backend(); after != before {
		t.Fatalf("a hang-up at a transaction's end cost the connection (backend %d, then %d)", before, after)
	}
	if err := hangUp(errors.New("stopping")); err == nil {
		t.Fatal("a statement cancelled without the cause finished, want it interrupted")
	}
	if after := backend(); after == before {
		t.Fatalf("a cancel of another kind kept backend %d, want the connection dropped at once (pgx's default)", before)
	}
}
