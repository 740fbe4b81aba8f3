-- +goose Up
-- `loandesk admin unlock` gives an account its login budget back, logged.
ALTER TABLE security_events DROP CONSTRAINT security_events_kind_check,
    ADD CONSTRAINT security_events_kind_check CHECK (kind IN ('login_ok', 'login_failed', 'login_disabled',
        'admin_added', 'admin_disabled', 'admin_enabled', 'account_unlocked'));

-- +goose Down
ALTER TABLE security_events DROP CONSTRAINT security_events_kind_check,
    ADD CONSTRAINT security_events_kind_check CHECK (kind IN ('login_ok', 'login_failed', 'login_disabled',
        'admin_added', 'admin_disabled', 'admin_enabled'));
