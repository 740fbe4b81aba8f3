-- +goose Up
-- pg_trgm is a trusted extension (PostgreSQL 13+): the app owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE admins (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email         text        NOT NULL UNIQUE CHECK (email = lower(email)),
    password_hash text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE loan_requests (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tracking_code   text        NOT NULL UNIQUE,
    full_name       text        NOT NULL,
    email           text        NOT NULL,
    document_number text        NOT NULL CHECK (document_number ~ '^[0-9]{7,8}$'),
    gender          text        NOT NULL CHECK (gender IN ('F', 'M', 'X')),
    amount          bigint      NOT NULL CHECK (amount BETWEEN 10000 AND 5000000),
    status          text        NOT NULL CHECK (status IN ('in_review', 'approved', 'rejected')),
    reason          text        NOT NULL DEFAULT '' CHECK (reason IN ('', 'identity', 'score', 'manual')),
    score           integer,
    -- One request per key, whatever happens to the cache in front of it.
    idempotency_key text        NOT NULL UNIQUE,
    fingerprint     text        NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    decided_at      timestamptz,
    decided_by      text        NOT NULL DEFAULT '',
    queued_at       timestamptz,
    deleted_at      timestamptz
);

CREATE INDEX loan_requests_created ON loan_requests (created_at DESC, id DESC);
CREATE INDEX loan_requests_status ON loan_requests (status, created_at DESC) WHERE deleted_at IS NULL;
-- The sweeper's query: undecided requests that may have missed the queue.
CREATE INDEX loan_requests_undecided ON loan_requests (created_at)
    WHERE status = 'in_review' AND decided_at IS NULL AND reason = '' AND deleted_at IS NULL;
CREATE INDEX loan_requests_search ON loan_requests
    USING gin ((full_name || ' ' || email || ' ' || document_number) gin_trgm_ops);

CREATE TABLE audit_events (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id bigint      NOT NULL REFERENCES loan_requests (id),
    admin_id   bigint      REFERENCES admins (id),
    actor      text        NOT NULL,
    action     text        NOT NULL,
    comment    text        NOT NULL DEFAULT '',
    before     jsonb       NOT NULL,
    after      jsonb       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_events_request ON audit_events (request_id, id);

-- +goose Down
DROP TABLE audit_events;
DROP TABLE loan_requests;
DROP TABLE admins;
