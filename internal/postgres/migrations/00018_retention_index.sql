-- +goose NO TRANSACTION
-- +goose Up
-- The retention's query (EraseExpired): requests whose personal data is
-- still there, oldest decision (or filing, if undecided) first. Built
-- CONCURRENTLY: filings go on while it builds.
CREATE INDEX CONCURRENTLY IF NOT EXISTS loan_requests_retention
    ON loan_requests ((coalesce(decided_at, created_at))) WHERE erased_at IS NULL;

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS loan_requests_retention;
