package postgres

import "github.com/jackc/pgx/v5/pgxpool"

// The list's statements, for the plan tests (package postgres_test).
var (
	ListQuery       = listQuery
	CountQuery      = countQuery
	SearchPageQuery = searchPageQuery
)

// Pool is the adapter's pool, for the tests' own SQL (the product has no
// way to reach around the adapter).
func (db *DB) Pool() *pgxpool.Pool { return db.pool }
