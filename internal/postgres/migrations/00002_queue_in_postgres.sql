-- +goose Up
-- Decision jobs now live in River's river_job table, saved in the same
-- transaction as their request: the re-queue sweeper and its bookkeeping go.
DROP INDEX loan_requests_undecided;
ALTER TABLE loan_requests DROP COLUMN queued_at;

-- +goose Down
ALTER TABLE loan_requests ADD COLUMN queued_at timestamptz;
CREATE INDEX loan_requests_undecided ON loan_requests (created_at)
    WHERE status = 'in_review' AND decided_at IS NULL AND reason = '' AND deleted_at IS NULL;
