-- +goose Up
-- An admin changes their own password in the desk: every session opened
-- before ends. A session carries the epoch it was opened in, and each
-- request compares it with the account's (domain.Auth.Authenticate), so
-- ending them needs no list of an admin's sessions in Valkey.
ALTER TABLE admins ADD COLUMN session_epoch bigint NOT NULL DEFAULT 0;
ALTER TABLE security_events DROP CONSTRAINT security_events_kind_check,
    ADD CONSTRAINT security_events_kind_check CHECK (kind IN ('login_ok', 'login_failed', 'login_disabled',
        'admin_added', 'admin_disabled', 'admin_enabled', 'account_unlocked', 'password_changed', 'password_change_failed'));

-- +goose Down
ALTER TABLE security_events DROP CONSTRAINT security_events_kind_check,
    ADD CONSTRAINT security_events_kind_check CHECK (kind IN ('login_ok', 'login_failed', 'login_disabled',
        'admin_added', 'admin_disabled', 'admin_enabled', 'account_unlocked'));
ALTER TABLE admins DROP COLUMN session_epoch;
