-- +goose Up
-- Erasure, at a data subject's request (Ley 25.326 art. 16): the applicant's
-- name, email and document number are blanked on every request they filed,
-- and so is the fingerprint made from them; the row, its decision and the
-- counts stay. The search tables follow by their triggers (no words, no
-- suffixes of an empty value). erased_at says when; the check holds a row
-- either whole or erased. Checked for new rows at once, for the existing
-- ones by 00017 (VALIDATE takes no lock that stops filings).
ALTER TABLE loan_requests ADD COLUMN erased_at timestamptz;
ALTER TABLE loan_requests DROP CONSTRAINT loan_requests_document_number_check,
    ADD CONSTRAINT loan_requests_document_number_check CHECK (CASE WHEN erased_at IS NULL
        THEN document_number ~ '^[0-9]{7,8}$'
        ELSE document_number = '' AND full_name = '' AND email = '' AND fingerprint = '' END) NOT VALID;
ALTER TABLE security_events DROP CONSTRAINT security_events_kind_check,
    ADD CONSTRAINT security_events_kind_check CHECK (kind IN ('login_ok', 'login_failed', 'login_disabled',
        'admin_added', 'admin_disabled', 'admin_enabled', 'account_unlocked', 'password_changed', 'password_change_failed',
        'request_viewed', 'requests_listed', 'applicant_erased'));

-- +goose Down
-- Refused while erased rows or erasure events exist: they cannot be unerased.
ALTER TABLE security_events DROP CONSTRAINT security_events_kind_check,
    ADD CONSTRAINT security_events_kind_check CHECK (kind IN ('login_ok', 'login_failed', 'login_disabled',
        'admin_added', 'admin_disabled', 'admin_enabled', 'account_unlocked', 'password_changed', 'password_change_failed',
        'request_viewed', 'requests_listed'));
ALTER TABLE loan_requests DROP CONSTRAINT loan_requests_document_number_check,
    ADD CONSTRAINT loan_requests_document_number_check CHECK (document_number ~ '^[0-9]{7,8}$');
ALTER TABLE loan_requests DROP COLUMN erased_at;
