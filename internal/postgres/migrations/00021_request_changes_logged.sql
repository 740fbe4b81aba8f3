-- +goose Up
-- An admin's status change, delete and restore of a request are in the
-- append-only security log too (with the request's id), written in the
-- change's transaction: the trail in audit_events loses its comments with
-- an erasure, this does not.
ALTER TABLE security_events DROP CONSTRAINT security_events_kind_check,
    ADD CONSTRAINT security_events_kind_check CHECK (kind IN ('login_ok', 'login_failed', 'login_disabled',
        'admin_added', 'admin_disabled', 'admin_enabled', 'account_unlocked', 'password_changed', 'password_change_failed',
        'request_viewed', 'requests_listed', 'applicant_erased',
        'mfa_asked', 'mfa_enrolled', 'mfa_failed', 'mfa_recovery_used', 'mfa_reset',
        'request_status_changed', 'request_deleted', 'request_restored'));

-- +goose Down
ALTER TABLE security_events DROP CONSTRAINT security_events_kind_check,
    ADD CONSTRAINT security_events_kind_check CHECK (kind IN ('login_ok', 'login_failed', 'login_disabled',
        'admin_added', 'admin_disabled', 'admin_enabled', 'account_unlocked', 'password_changed', 'password_change_failed',
        'request_viewed', 'requests_listed', 'applicant_erased',
        'mfa_asked', 'mfa_enrolled', 'mfa_failed', 'mfa_recovery_used', 'mfa_reset'));
