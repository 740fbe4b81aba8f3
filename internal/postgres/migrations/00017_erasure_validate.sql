-- +goose NO TRANSACTION
-- +goose Up
-- 00016's check, for the rows filed before it: a scan under SHARE UPDATE
-- EXCLUSIVE, which lets filings and decisions go on meanwhile.
ALTER TABLE loan_requests VALIDATE CONSTRAINT loan_requests_document_number_check;

-- +goose Down
SELECT 1; -- a validated check has nothing to undo
