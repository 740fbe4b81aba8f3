-- +goose Up
-- A filing claims its idempotency key here before it asks the providers,
-- so concurrent repeats of one filing wait for its answer instead of
-- asking scoring and identity again (internal/postgres/claims.go). The
-- claim is settled (done) in the statement that saves the request, and
-- kept ten minutes after it expires, so a repeat that raced the save still
-- finds it; each new claim sweeps two older ones away, so the table holds
-- about ten minutes of filings, whatever the rate.
--
-- UNLOGGED: a claim lives seconds, writing one costs no WAL and no fsync,
-- and after a crash the table is empty — the worst that costs is one
-- filing's providers asked twice; the request itself is still unique by
-- its key. (Standbys do not have it either: after a failover, the same.)
CREATE UNLOGGED TABLE filing_claims (
    idempotency_key text PRIMARY KEY,
    fingerprint     text        NOT NULL,
    expires_at      timestamptz NOT NULL,
    done            boolean     NOT NULL DEFAULT false
);
CREATE INDEX filing_claims_expires_at ON filing_claims (expires_at);

-- +goose Down
DROP TABLE filing_claims;
