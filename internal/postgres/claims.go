package postgres

import (
	"context"
	"crypto/rand"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/loandesk/loandesk/internal/domain"
)

// claimQuery reads the request filed under a key or, if there is none,
// claims the key: a new claim, or one whose time passed unsettled (its
// winner died) taken over. It also sweeps two claims that expired ten
// minutes ago, so the table stays at about ten minutes of filings. One
// statement, one snapshot. A claim made with this call's token ($4) is this
// call's own (an attempt that committed unseen): it is won again. The holder's fingerprint is the one it saw, of
// a live claim only (NULL when the holder claimed after the snapshot, or
// its claim expired and is being taken over: the caller asks again).
const claimQuery = `
	WITH filed AS (
		SELECT id FROM loan_requests WHERE idempotency_key = $1
	), swept AS (
		DELETE FROM filing_claims WHERE idempotency_key IN (
			SELECT idempotency_key FROM filing_claims
			WHERE expires_at < now() - interval '10 minutes' AND idempotency_key <> $1
			LIMIT 2 FOR UPDATE SKIP LOCKED)
	), claimed AS (
		INSERT INTO filing_claims (idempotency_key, fingerprint, expires_at, token)
		SELECT $1, $2, now() + make_interval(secs => $3), $4 WHERE NOT EXISTS (SELECT FROM filed)
		ON CONFLICT (idempotency_key) DO UPDATE
			SET fingerprint = EXCLUDED.fingerprint, expires_at = EXCLUDED.expires_at, token = EXCLUDED.token
			WHERE NOT filing_claims.done AND (filing_claims.expires_at < now() OR filing_claims.token = EXCLUDED.token)
		RETURNING true AS won
	)
	SELECT EXISTS (SELECT FROM claimed),
	       (SELECT fingerprint FROM filing_claims WHERE idempotency_key = $1 AND (done OR expires_at >= now())),
	       (SELECT id FROM filed)`

// ClaimQuery is a filing's first statement (exported for tools/bench, which
// runs it under pgbench as the API does). token names the call: every
// attempt of one call passes the same one.
func ClaimQuery(key, fingerprint, token string, ttl time.Duration) Query {
	return Query{SQL: claimQuery, Args: []any{key, fingerprint, ttl.Seconds(), token}}
}

// claimToken names one ClaimFiling call.
func claimToken() string {
	return rand.Text()
}

// ClaimFiling implements domain.LoanStore. A key already filed costs a
// second read, of the request: that is a client's retry after its answer.
func (db *DB) ClaimFiling(ctx context.Context, key, fingerprint string, ttl time.Duration) (domain.Claim, error) {
	var c domain.Claim
	var holder *string
	var id *int64
	q := ClaimQuery(key, fingerprint, claimToken(), ttl) // one token for all of onPrimary's attempts
	if err := db.onPrimary(ctx, func(ctx context.Context) error {
		return db.pool.QueryRow(ctx, q.SQL, q.Args...).Scan(&c.Won, &holder, &id)
	}); err != nil {
		return domain.Claim{}, translate(err, "claiming the idempotency key")
	}
	if id != nil {
		l, err := db.LoanByID(ctx, *id)
		if err != nil {
			return domain.Claim{}, err
		}
		return domain.Claim{Filed: l}, nil
	}
	if holder != nil && !c.Won {
		c.Holder = *holder
	}
	return c, nil
}

// ReleaseFiling implements domain.LoanStore: the claim goes unless it was
// settled.
func (db *DB) ReleaseFiling(ctx context.Context, key string) error {
	_, err := db.pool.Exec(ctx, `DELETE FROM filing_claims WHERE idempotency_key = $1 AND NOT done`, key)
	return translate(err, "releasing the idempotency key")
}

// settleClaim marks the key's claim done, in the transaction that saves
// its request (the CTE of FilingQuery says the same in one statement).
func settleClaim(ctx context.Context, tx pgx.Tx, key string) error {
	_, err := tx.Exec(ctx, `UPDATE filing_claims SET done = true WHERE idempotency_key = $1`, key)
	return err
}
