-- +goose Up
-- The terms of 00005 for the requests filed before it (the triggers write
-- them for every later one; those are skipped). Reads loan_requests without
-- locking it: filings go on meanwhile. It relies on what the app never does:
-- change a request's name, email, document number or filing time (an edit
-- while this runs could leave the old terms behind).
INSERT INTO loan_words
SELECT t, created_at, id FROM loan_requests, unnest(loandesk_terms(full_name, email)) t
WHERE t LIKE '% %'
ON CONFLICT DO NOTHING;

INSERT INTO loan_documents
SELECT s, created_at, id FROM loan_requests, unnest(loandesk_suffixes(document_number)) s
ON CONFLICT DO NOTHING;

-- +goose Down
SELECT 1; -- 00005's Down removes what this adds
