-- +goose Up
-- Search at 10 M requests, for what 00004 still read in bulk (measured
-- there: 1.8-2.7 s for a whole name, 110-370 ms for digits of a DNI).
--
-- Words that are each common but rare together ("micaela soto": 2,500
-- requests at 10 M; with "quispe", 50) were found by reading one word's
-- requests until the others turned up. Now loan_words also holds every
-- PAIR of a request's words as one term ("micaela soto", the two words in
-- byte order, so the order typed does not matter): a search for two words
-- reads one term's requests, newest first, and stops at the page; for
-- more, it joins a few short pair lists. A request has n(n-1)/2 pairs:
-- 6 for the usual four words (three of the name, one of the email); at
-- most 1,035 for a 120-character name of three-letter words.
--
-- Digits: every suffix of the document number of 4 digits or more, in
-- loan_documents. Digits anywhere in a DNI are the start of one of its
-- suffixes, so a search reads one range of that key (≈ 5,000 entries for 4
-- digits at 10 M, a tenth of that per digit more) instead of intersecting
-- three trigram lists of 60,000 numbers each.
--
-- This file changes what the triggers write (expand); 00006 fills both for
-- the requests filed before it. Two files, two transactions: a filing that
-- commits between them already has its terms, and the backfill skips them.

-- +goose StatementBegin
CREATE FUNCTION loandesk_pair(a text, b text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN CASE WHEN a = b THEN a WHEN a COLLATE "C" < b COLLATE "C" THEN a || ' ' || b ELSE b || ' ' || a END;
-- +goose StatementEnd

-- A request's words, then the pairs of them. PL/pgSQL's loop: 2x faster
-- than the same in one SQL query (77 vs 167 µs a request, measured), which
-- the seeding script pays 10 M times.
-- +goose StatementBegin
CREATE FUNCTION loandesk_terms(name text, email text) RETURNS text[]
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE STRICT AS $$
DECLARE
    w text[] := loandesk_words(name, email);
    t text[] := w;
BEGIN
    FOR i IN 1 .. cardinality(w) - 1 LOOP
        FOR j IN i + 1 .. cardinality(w) LOOP
            t := t || loandesk_pair(w[i], w[j]);
        END LOOP;
    END LOOP;
    RETURN t;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION loan_words_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM loan_words
        WHERE word = ANY (loandesk_terms(OLD.full_name, OLD.email)) AND created_at = OLD.created_at AND request_id = OLD.id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO loan_words SELECT t, NEW.created_at, NEW.id FROM unnest(loandesk_terms(NEW.full_name, NEW.email)) t
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION loandesk_suffixes(doc text) RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN ARRAY(SELECT substr(doc, i) FROM generate_series(1, length(doc) - 3) i);
-- +goose StatementEnd

CREATE TABLE loan_documents (
    suffix     text COLLATE "C" NOT NULL,
    created_at timestamptz      NOT NULL,
    request_id bigint           NOT NULL,
    PRIMARY KEY (suffix, created_at, request_id)
);

-- +goose StatementBegin
CREATE FUNCTION loan_documents_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM loan_documents
        WHERE suffix = ANY (loandesk_suffixes(OLD.document_number)) AND created_at = OLD.created_at AND request_id = OLD.id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO loan_documents SELECT s, NEW.created_at, NEW.id FROM unnest(loandesk_suffixes(NEW.document_number)) s
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER loan_documents_track AFTER INSERT OR DELETE OR UPDATE OF document_number, created_at ON loan_requests
    FOR EACH ROW EXECUTE FUNCTION loan_documents_track();

-- +goose Down
DROP TRIGGER loan_documents_track ON loan_requests;
DROP FUNCTION loan_documents_track();
DROP TABLE loan_documents;
DROP FUNCTION loandesk_suffixes(text);
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION loan_words_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM loan_words
        WHERE word = ANY (loandesk_words(OLD.full_name, OLD.email)) AND created_at = OLD.created_at AND request_id = OLD.id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO loan_words SELECT w, NEW.created_at, NEW.id FROM unnest(loandesk_words(NEW.full_name, NEW.email)) w;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
DELETE FROM loan_words WHERE word LIKE '% %';
DROP FUNCTION loandesk_terms(text, text);
DROP FUNCTION loandesk_pair(text, text);
