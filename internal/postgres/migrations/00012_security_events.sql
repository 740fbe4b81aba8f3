-- +goose Up
-- Who logged in, who failed, who was given or lost an account: append-only.
-- No email or address is kept: subject and client are HMACs (keyed with a
-- key derived from SESSION_KEY), so attempts at one unknown account or from
-- one address can be linked without naming them. The application role may
-- INSERT and SELECT only (EnsureAppRole revokes the rest); the trigger
-- refuses UPDATE, DELETE and TRUNCATE to every role that does not disable
-- it on purpose (an owner's retention job).
CREATE TABLE security_events (
    id       bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at       timestamptz NOT NULL DEFAULT now(),
    kind     text        NOT NULL CHECK (kind IN ('login_ok', 'login_failed', 'login_disabled', 'admin_added', 'admin_disabled', 'admin_enabled')),
    admin_id bigint      REFERENCES admins (id),
    subject  text        NOT NULL DEFAULT '' CHECK (length(subject) <= 64),
    client   text        NOT NULL DEFAULT '' CHECK (length(client) <= 64)
);
CREATE INDEX security_events_admin ON security_events (admin_id, id);

-- +goose StatementBegin
CREATE FUNCTION security_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'security_events is append-only' USING ERRCODE = 'insufficient_privilege';
END
$$;
-- +goose StatementEnd
CREATE TRIGGER security_events_append_only BEFORE UPDATE OR DELETE ON security_events
    FOR EACH ROW EXECUTE FUNCTION security_events_append_only();
CREATE TRIGGER security_events_no_truncate BEFORE TRUNCATE ON security_events
    FOR EACH STATEMENT EXECUTE FUNCTION security_events_append_only();

-- +goose Down
DROP TABLE security_events;
DROP FUNCTION security_events_append_only();
