-- +goose Up
-- Admins search "perez" and expect "PÉREZ": fold case AND accents, on both
-- sides, with an index the search can use. unaccent() is only STABLE (its
-- dictionary could change), so an IMMUTABLE wrapper names the dictionary.
CREATE EXTENSION IF NOT EXISTS unaccent;

-- +goose StatementBegin
CREATE FUNCTION loandesk_fold(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN lower(public.unaccent('public.unaccent'::regdictionary, $1));
-- +goose StatementEnd

DROP INDEX loan_requests_search;
CREATE INDEX loan_requests_search ON loan_requests
    USING gin (loandesk_fold(full_name || ' ' || email || ' ' || document_number) gin_trgm_ops);

-- +goose Down
DROP INDEX loan_requests_search;
CREATE INDEX loan_requests_search ON loan_requests
    USING gin ((full_name || ' ' || email || ' ' || document_number) gin_trgm_ops);
DROP FUNCTION loandesk_fold(text);
DROP EXTENSION unaccent;
