package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The list's statements, for the plan tests (package postgres_test).
var (
	ListQuery       = listQuery
	CountQuery      = countQuery
	SearchPageQuery = searchPageQuery
)

// InTx is the adapter's transaction, for the tests of its edges.
func (db *DB) InTx(ctx context.Context, fn func(tx pgx.Tx) error) error { return db.inTx(ctx, fn) }

// Pool is the adapter's pool, for the tests' own SQL (the product has no
// way to reach around the adapter). Its connections carry the
// application's deadlines (appSession).
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// Unbounded is a pool on the adapter's database without the application's
// deadlines, for a test's setup (a bulk insert, VACUUM) that only a busy
// machine makes slow: 5 s is a stuck request, not a slow fixture.
func (db *DB) Unbounded(t testing.TB) *pgxpool.Pool {
	t.Helper()
	cfg := db.pool.Config()
	for name := range appSession {
		delete(cfg.ConnConfig.RuntimeParams, name)
	}
	for name, value := range migrationSession {
		cfg.ConnConfig.RuntimeParams[name] = value
	}
	cfg.ConnConfig.RuntimeParams["lock_timeout"] = "0"
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// SetPrimaryWait sets how long a keyed write waits for a primary: a test
// decides when the primary is back by a state it waits for, so the machine's
// speed must not end the wait first.
func (db *DB) SetPrimaryWait(d time.Duration) { db.primaryWait = d }
