-- +goose Up
-- The admin paths in time independent of the table's size.

-- Keyset pagination: (created_at, id) descending, live and deleted apart,
-- and per status (the work queue "in review" is a status filter).
CREATE INDEX loan_requests_live ON loan_requests (created_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX loan_requests_deleted ON loan_requests (created_at DESC, id DESC) WHERE deleted_at IS NOT NULL;
DROP INDEX loan_requests_status;
CREATE INDEX loan_requests_status ON loan_requests (status, created_at DESC, id DESC) WHERE deleted_at IS NULL;
DROP INDEX loan_requests_created;

-- Search. An admin types whole words of a name or an email ("garcía",
-- "micaela soto"), an email or its start, or digits of a DNI.
--
-- Words: loan_words holds (word, when filed, request) for every word of a
-- request's name and email local part, folded like loandesk_fold. Its
-- primary key read backwards is each word's requests newest first, so a
-- search reads one range per word typed and merges them on (when, request):
-- the work follows the page asked for, not the number of matches. A GIN or
-- trigram index on the row has to collect and sort every match instead
-- (0.1-6 s for common names at 10 M rows, measured).
-- +goose StatementBegin
CREATE FUNCTION loandesk_words(name text, email text) RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN ARRAY(SELECT lexeme FROM unnest(to_tsvector('simple'::regconfig,
        loandesk_fold(name || ' ' || translate(split_part(email, '@', 1), '._-+', '    ')))) WHERE length(lexeme) >= 3);
-- +goose StatementEnd

CREATE TABLE loan_words (
    word       text        NOT NULL,
    created_at timestamptz NOT NULL,
    request_id bigint      NOT NULL,
    PRIMARY KEY (word, created_at, request_id)
);

-- +goose StatementBegin
CREATE FUNCTION loan_words_track() RETURNS trigger LANGUAGE plpgsql AS $$
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

CREATE TRIGGER loan_words_track AFTER INSERT OR DELETE OR UPDATE OF full_name, email, created_at ON loan_requests
    FOR EACH ROW EXECUTE FUNCTION loan_words_track();

INSERT INTO loan_words SELECT w, created_at, id FROM loan_requests, unnest(loandesk_words(full_name, email)) w;

-- Digits: anywhere in the document number (trigrams); an email: its start.
DROP INDEX loan_requests_search;
CREATE INDEX loan_requests_document ON loan_requests USING gin (document_number gin_trgm_ops);
CREATE INDEX loan_requests_email ON loan_requests (email text_pattern_ops);

-- Counts by day, status and deletion, kept by a trigger in the transaction
-- that changes a request: stats and totals read a few thousand rows, never
-- the table. Each connection adds to a row of its own (shard: 1 + its
-- backend pid mod 63), so concurrent filings never wait for each other's commit
-- (with 8 random shards, a quarter of the busy backends at 8 clients were
-- waiting on another's row lock). The worker folds the shards of past days
-- into shard 0 (postgres.FoldCounts), so a day keeps one row per key.
CREATE TABLE loan_counts (
    day     date     NOT NULL,
    status  text     NOT NULL,
    deleted boolean  NOT NULL,
    shard   smallint NOT NULL,
    n       bigint   NOT NULL,
    PRIMARY KEY (day, status, deleted, shard)
);

-- +goose StatementBegin
CREATE FUNCTION loan_counts_add(d date, s text, del boolean, pick smallint, delta int) RETURNS void
    LANGUAGE sql AS $$
    INSERT INTO loan_counts AS c VALUES (d, s, del, pick, delta)
    ON CONFLICT (day, status, deleted, shard) DO UPDATE SET n = c.n + excluded.n
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION loan_counts_track() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    -- Shard 0 is the folded past, written by FoldCounts alone.
    pick smallint := (1 + pg_backend_pid() % 63)::smallint;
    old_day date;
    new_day date;
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.status = NEW.status AND (OLD.deleted_at IS NULL) = (NEW.deleted_at IS NULL)
            AND OLD.created_at = NEW.created_at THEN
        RETURN NULL;
    END IF;
    old_day := (OLD.created_at AT TIME ZONE 'UTC')::date;
    new_day := (NEW.created_at AT TIME ZONE 'UTC')::date;
    IF TG_OP = 'INSERT' THEN
        PERFORM loan_counts_add(new_day, NEW.status, NEW.deleted_at IS NOT NULL, pick, 1);
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM loan_counts_add(old_day, OLD.status, OLD.deleted_at IS NOT NULL, pick, -1);
    -- Both rows of a change in key order: two transactions that share a
    -- shard then never wait for each other in a cycle.
    ELSIF (old_day, OLD.status, OLD.deleted_at IS NOT NULL) < (new_day, NEW.status, NEW.deleted_at IS NOT NULL) THEN
        PERFORM loan_counts_add(old_day, OLD.status, OLD.deleted_at IS NOT NULL, pick, -1);
        PERFORM loan_counts_add(new_day, NEW.status, NEW.deleted_at IS NOT NULL, pick, 1);
    ELSE
        PERFORM loan_counts_add(new_day, NEW.status, NEW.deleted_at IS NOT NULL, pick, 1);
        PERFORM loan_counts_add(old_day, OLD.status, OLD.deleted_at IS NOT NULL, pick, -1);
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER loan_counts_track AFTER INSERT OR DELETE OR UPDATE OF status, deleted_at, created_at ON loan_requests
    FOR EACH ROW EXECUTE FUNCTION loan_counts_track();

INSERT INTO loan_counts
SELECT (created_at AT TIME ZONE 'UTC')::date, status, deleted_at IS NOT NULL, 0, count(*)
FROM loan_requests GROUP BY 1, 2, 3;

-- +goose Down
DROP TRIGGER loan_counts_track ON loan_requests;
DROP FUNCTION loan_counts_track();
DROP FUNCTION loan_counts_add(date, text, boolean, smallint, int);
DROP TABLE loan_counts;
DROP INDEX loan_requests_email;
DROP INDEX loan_requests_document;
DROP TRIGGER loan_words_track ON loan_requests;
DROP FUNCTION loan_words_track();
DROP TABLE loan_words;
DROP FUNCTION loandesk_words(text, text);
CREATE INDEX loan_requests_search ON loan_requests
    USING gin (loandesk_fold(full_name || ' ' || email || ' ' || document_number) gin_trgm_ops);
CREATE INDEX loan_requests_created ON loan_requests (created_at DESC, id DESC);
DROP INDEX loan_requests_status;
CREATE INDEX loan_requests_status ON loan_requests (status, created_at DESC) WHERE deleted_at IS NULL;
DROP INDEX loan_requests_deleted;
DROP INDEX loan_requests_live;
