-- +goose NO TRANSACTION
-- +goose Up
-- The trigram index on the document number (00004) is read by no query
-- since 00005 (digits are found in loan_documents, 00005 and 00007), nor
-- by the release before this one; every filing still wrote to it: nine
-- trigram keys of an 8-digit number into a GIN index, and now and then
-- the flush of its pending list inside a filing's INSERT. Contract: drop
-- it.
--
-- CONCURRENTLY: filings go on while it is dropped.
DROP INDEX CONCURRENTLY IF EXISTS loan_requests_document;

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS loan_requests_document;
CREATE INDEX CONCURRENTLY loan_requests_document ON loan_requests USING gin (document_number gin_trgm_ops);
