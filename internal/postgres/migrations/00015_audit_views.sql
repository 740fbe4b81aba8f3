-- +goose Up
-- Who saw which applicant's personal data: each request shown (its id) and
-- each page of the list, with its search's kind (a DNI, an email, words of
-- a name), never its text. The log stays append-only (00012's trigger and
-- grants); request_id is not a foreign key, so the record outlives the row.
ALTER TABLE security_events
    ADD COLUMN request_id bigint,
    ADD COLUMN detail text NOT NULL DEFAULT '' CHECK (detail IN ('', 'dni', 'email', 'name')),
    DROP CONSTRAINT security_events_kind_check,
    ADD CONSTRAINT security_events_kind_check CHECK (kind IN ('login_ok', 'login_failed', 'login_disabled',
        'admin_added', 'admin_disabled', 'admin_enabled', 'account_unlocked', 'password_changed', 'password_change_failed',
        'request_viewed', 'requests_listed'));
CREATE INDEX security_events_request ON security_events (request_id, id);
-- A day's events: the rows are appended in time order, so a BRIN range
-- index finds them for a few pages of index.
CREATE INDEX security_events_at ON security_events USING brin (at);

-- +goose Down
-- Refused while events of the new kinds exist: the log is not rewritten.
ALTER TABLE security_events DROP COLUMN request_id, DROP COLUMN detail,
    DROP CONSTRAINT security_events_kind_check,
    ADD CONSTRAINT security_events_kind_check CHECK (kind IN ('login_ok', 'login_failed', 'login_disabled',
        'admin_added', 'admin_disabled', 'admin_enabled', 'account_unlocked', 'password_changed', 'password_change_failed'));
