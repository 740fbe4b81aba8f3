-- +goose Up
-- The security log's retention (SECURITY_LOG_DAYS, at least 365): events
-- older than it are deleted, and nothing else ever is. The trigger now lets
-- a DELETE through only inside prune_security_events (which sets
-- loandesk.prune for its own statement) and only for rows over 365 days
-- old, whoever runs it; UPDATE and TRUNCATE stay refused to every role.
-- The function runs as its owner (the app role has no DELETE on the table)
-- and refuses a retention under the floor: a stolen app credential cannot
-- shorten the log.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION security_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('loandesk.prune', true) = 'on' AND OLD.at < now() - interval '365 days' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'security_events is append-only' USING ERRCODE = 'insufficient_privilege';
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION prune_security_events(keep_days int, batch int) RETURNS int
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    n int;
BEGIN
    IF keep_days IS NULL OR keep_days < 365 THEN
        RAISE EXCEPTION 'the security log is kept at least 365 days, not %', keep_days USING ERRCODE = 'insufficient_privilege';
    END IF;
    PERFORM set_config('loandesk.prune', 'on', true);
    DELETE FROM security_events WHERE id IN (
        SELECT id FROM security_events WHERE at < now() - make_interval(days => keep_days)
        ORDER BY id LIMIT greatest(batch, 0) FOR UPDATE SKIP LOCKED);
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM set_config('loandesk.prune', '', true);
    RETURN n;
END
$$;
-- +goose StatementEnd
REVOKE EXECUTE ON FUNCTION prune_security_events(int, int) FROM PUBLIC;

-- +goose Down
DROP FUNCTION prune_security_events(int, int);
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION security_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'security_events is append-only' USING ERRCODE = 'insufficient_privilege';
END
$$;
-- +goose StatementEnd
