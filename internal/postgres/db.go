// Package postgres stores everything durable of LoanDesk in PostgreSQL:
// loan requests, admins, the audit trail, and the queue of decision jobs
// (River, in the same database, so a request and its job are saved in one
// transaction). It turns driver errors into domain errors, and each update
// runs in one transaction inside this package.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/exaring/otelpgx"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/loandesk/loandesk/internal/domain"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is the PostgreSQL adapter.
type DB struct {
	pool *pgxpool.Pool
	// jobs only inserts jobs, inside this package's transactions;
	// WorkDecisions runs a River client of its own to work them (queue.go).
	jobs *river.Client[pgx.Tx]
	// primaryWait: how long a keyed write waits out a moving primary
	// (onPrimary); a constant but for tests.
	primaryWait time.Duration
}

// appSession are the settings of every application connection, unless the
// URL sets them (?statement_timeout=…): every wait on the database ends.
var appSession = map[string]string{
	// Every statement here reads a few rows by index. A parallel plan with
	// a LIMIT lets workers run ahead of it (measured at 10 M rows: a search
	// read 30x the rows it returned) and takes cores from the other
	// requests; none.
	"max_parallel_workers_per_gather": "0",
	// The slowest statement measured at 10 M rows takes ~50 ms; 5 s is a
	// stuck one. It fails (57014) as EUNAVAILABLE: a 503 to retry, and
	// the connection goes back to the pool.
	"statement_timeout": "5s",
	// A row or table held by someone else (a migration, an operator's
	// transaction) is waited for 2 s, then 55P03, also a 503 to retry.
	"lock_timeout": "2s",
	// Our transactions never idle; one that does holds its locks for
	// nobody, so the server ends it.
	"idle_in_transaction_session_timeout": "10s",
}

// migrationSession are the settings of `loandesk migrate`: an index build
// may take minutes, so no statement limit, but DDL never queues behind a
// lock for long — queued, it would hold up every query behind it — and is
// retried instead (Migrate).
var migrationSession = map[string]string{
	"statement_timeout":                   "0",
	"lock_timeout":                        "3s",
	"idle_in_transaction_session_timeout": "60s",
}

// errNotPrimary: the pool's connection reached a member that takes no writes.
var errNotPrimary = errors.New("connected to a PostgreSQL member that is not the primary")

// connectTimeout bounds a new connection when the URL does not say
// (connect_timeout): a request must not hang while PostgreSQL restarts.
const connectTimeout = 3 * time.Second

// PasswordFunc gives the password for a new connection. It is asked every
// time the pool connects, so a credential that changes (an IAM token valid
// 15 minutes, a rotated secret) is always current.
type PasswordFunc func(ctx context.Context) (string, error)

// Open connects and checks the connection. password, if not nil, replaces
// the URL's password on every new connection.
func Open(ctx context.Context, url string, password PasswordFunc) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parsing DATABASE_URL: %w", err)
	}
	// pgx's default is max(4, CPUs): 4 here, fewer than one admin list
	// (page and total at once, but for a search's first page) per request
	// in flight at 8 clients, which then queue for a connection. Ten per
	// process, unless the URL sets pool_max_conns: 2 api + 2 worker
	// processes stay far below PostgreSQL's 100.
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = 10
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = connectTimeout
	}
	// A span per statement, acquire and connect, inside the caller's trace
	// (none is started on its own: River's housekeeping stays untraced).
	cfg.ConnConfig.Tracer = otelpgx.NewTracer(otelpgx.WithTrimSQLInSpanName())
	for name, value := range appSession {
		if _, set := cfg.ConnConfig.RuntimeParams[name]; !set {
			cfg.ConnConfig.RuntimeParams[name] = value
		}
	}
	if password != nil {
		cfg.BeforeConnect = func(ctx context.Context, cc *pgx.ConnConfig) error {
			pw, err := password(ctx)
			if err != nil {
				return fmt.Errorf("getting the database password: %w", err)
			}
			cc.Password = pw
			return nil
		}
	}
	// A caller who hangs up must not cost a connection (cancel.go).
	cfg.ConnConfig.BuildContextWatcherHandler = newCancelHandler
	// A connection idle for a second is pinged before it is handed out
	// (pgxpool's default); one whose server died with its machine does not
	// refuse, it stays silent: after a second it is dropped and another
	// taken, rather than the request waiting out its deadline on it.
	cfg.PingTimeout = time.Second
	// Writes need the primary. A connection to a member that is not (it was
	// demoted under the pool, or the URL names no target_session_attrs) is
	// never handed out: it is closed, and the caller gets a 503 to retry,
	// whose next connection finds the primary (target_session_attrs in
	// DATABASE_URL). PostgreSQL 14+ reports both settings to the session.
	cfg.PrepareConn = func(_ context.Context, c *pgx.Conn) (bool, error) {
		pc := c.PgConn()
		if pc.ParameterStatus("in_hot_standby") == "on" || pc.ParameterStatus("default_transaction_read_only") == "on" {
			return false, errNotPrimary
		}
		return true, nil
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connecting to PostgreSQL at %s:%d: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, err)
	}
	jobs, err := newInserter(pool)
	if err != nil {
		pool.Close()
		return nil, err
	}
	return &DB{pool: pool, jobs: jobs, primaryWait: PrimaryWait}, nil
}

// Close releases the pool.
func (db *DB) Close() { db.pool.Close() }

// Ping reports whether PostgreSQL answers (readiness).
func (db *DB) Ping(ctx context.Context) error { return translate(db.pool.Ping(ctx), "ping") }

// Migrate applies the embedded migrations, then River's, that are not
// applied yet. Only `loandesk migrate` calls it, never the server at start.
// It uses connections of its own, with migrationSession's settings; a
// migration that found a table locked for longer than lock_timeout was
// rolled back whole (or, without a transaction, is written to run again),
// and is tried again after a pause.
func (db *DB) Migrate(ctx context.Context, log *slog.Logger) error {
	cfg := db.pool.Config()
	for k, v := range migrationSession {
		cfg.ConnConfig.RuntimeParams[k] = v
	}
	cfg.MaxConns = 4 // goose holds its lock on one; migrations run on another
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	for attempt := 1; ; attempt++ {
		err := migrate(ctx, pool, log)
		if !lockTimeout(err) || attempt == MigrateLockRetries {
			return err
		}
		wait := min(time.Duration(attempt)*2*time.Second, 30*time.Second)
		log.WarnContext(ctx, "a migration waited too long for a lock and was rolled back; retrying", "attempt", attempt, "in", wait.String(), "err", err)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

// MigrateLockRetries is how many times Migrate tries a migration that
// finds its tables locked.
const MigrateLockRetries = 20

// lockTimeout reports whether err is PostgreSQL's lock_not_available.
func lockTimeout(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "55P03"
}

func migrate(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	sqlDB := stdlib.OpenDBFromPool(pool)
	defer sqlDB.Close()
	// One migrate at a time (a session advisory lock): a retried job or a
	// second pipeline waits for the first instead of running the same
	// migration beside it; 00007's index build alone takes minutes at 10M,
	// so a wait of up to half an hour.
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(5, 360))
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectPostgres, sqlDB, sub, goose.WithSessionLocker(locker))
	if err != nil {
		return err
	}
	results, err := p.Up(ctx)
	for _, r := range results {
		if r.Error == nil {
			log.InfoContext(ctx, "migration applied", "version", r.Source.Version, "file", r.Source.Path, "duration", r.Duration.String())
		}
	}
	if err != nil {
		return fmt.Errorf("migrating: %w", err)
	}
	v, err := p.GetDBVersion(ctx)
	if err != nil {
		return err
	}
	rm, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Logger: log})
	if err != nil {
		return err
	}
	res, err := rm.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return fmt.Errorf("migrating the job queue (River): %w", err)
	}
	for _, m := range res.Versions {
		log.InfoContext(ctx, "queue migration applied", "version", m.Version, "name", m.Name, "duration", m.Duration.String())
	}
	log.InfoContext(ctx, "database schema is current", "version", v)
	return nil
}

// inTx runs fn in a transaction, committing only if fn succeeds.
func (db *DB) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() {
		// A no-op after commit; after a failure it must run even if the
		// caller is gone, but never wait on the server for long.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = tx.Rollback(rctx)
	}()
	if err := fn(tx); err != nil {
		return err
	}
	// A caller who hung up during fn's last statement (left to finish:
	// cancel.go) gets no commit; rolled back above, the connection stays
	// (pgx's Commit on an ended context would close it).
	if err := ctx.Err(); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// translate turns a driver error into the domain's terms at this edge:
// "no rows" is ENOTFOUND; unique and check violations are ECONFLICT and
// EINVALID; a database that cannot answer now (down, restarting, out of
// connections, unreachable) is EUNAVAILABLE, which callers may retry.
// Domain errors pass through; anything else stays internal.
func translate(err error, what string) error {
	if err == nil {
		return nil
	}
	if _, ok := domain.AsError(err); ok {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.Errorf(domain.ENOTFOUND, "%s not found", what)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case pgErr.Code == "23505":
			return errors.Join(domain.Errorf(domain.ECONFLICT, "%s already exists", what), err)
		case pgErr.Code == "23514":
			return errors.Join(domain.Errorf(domain.EINVALID, "%s breaks a rule of the database", what), err)
		case unavailableClass(pgErr.Code):
			return unavailable(err, what)
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	if errors.Is(err, context.Canceled) {
		return err // the caller gave up; nothing to tell it
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	if errors.As(err, &connectErr) || errors.As(err, &netErr) || errors.Is(err, errNotPrimary) || pgconn.Timeout(err) || pgconn.SafeToRetry(err) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, context.DeadlineExceeded) ||
		strings.Contains(err.Error(), "conn closed") || strings.Contains(err.Error(), "closed pool") {
		return unavailable(err, what)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// unavailableClass: connection exceptions (08), insufficient resources
// (53: too many connections, disk full), operator intervention (57:
// shutdown, crash recovery, "the database system is starting up", and a
// statement_timeout: 57014), a lock not had within lock_timeout (55P03), a
// transaction ended for idling (25P03), a write on a member that is not
// the primary (25006: a failover or switchover under the connection), and
// serialization failures or deadlocks (40001, 40P01): each may succeed on
// retry.
func unavailableClass(code string) bool {
	switch {
	case strings.HasPrefix(code, "08"), strings.HasPrefix(code, "53"), strings.HasPrefix(code, "57"),
		code == "55P03", code == "25P03", code == "25006", code == "40001", code == "40P01":
		return true
	}
	return false
}

func unavailable(err error, what string) error {
	return errors.Join(&domain.Error{Code: domain.EUNAVAILABLE, Message: "the database is unavailable; retry shortly", RetryAfter: 2},
		fmt.Errorf("%s: %w", what, err))
}

// EnsureAppRole creates role (if missing) as the application's login role:
// it may read and write every table and sequence of the schema, now and
// later (default privileges), but only add to security_events, and nothing
// else — no DDL. With iam, it logs
// in with IAM tokens (RDS's rds_iam role) instead of a password. Run by
// `loandesk migrate` as the owner, after the migrations.
func (db *DB) EnsureAppRole(ctx context.Context, role string, iam bool, log *slog.Logger) error {
	id := pgx.Identifier{role}.Sanitize()
	return translate(db.inTx(ctx, func(tx pgx.Tx) error {
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)`, role).Scan(&exists); err != nil {
			return err
		}
		stmts := []string{}
		if !exists {
			stmts = append(stmts, `CREATE ROLE `+id+` LOGIN`)
		}
		stmts = append(stmts,
			`GRANT USAGE ON SCHEMA public TO `+id,
			`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO `+id,
			`GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO `+id,
			// River's functions (notifications on insert).
			`GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO `+id,
			`ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO `+id,
			`ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO `+id,
			// The security log is append-only for the application.
			`REVOKE UPDATE, DELETE, TRUNCATE ON security_events FROM `+id,
		)
		if iam {
			stmts = append(stmts, `GRANT rds_iam TO `+id)
		}
		for _, q := range stmts {
			if _, err := tx.Exec(ctx, q); err != nil {
				return fmt.Errorf("%s: %w", q, err)
			}
		}
		log.InfoContext(ctx, "application role ready", "role", role, "created", !exists, "iam", iam)
		return nil
	}), "application role")
}
