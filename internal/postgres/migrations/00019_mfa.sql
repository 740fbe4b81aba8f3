-- +goose Up
-- TOTP for admins (RFC 6238): the secret sealed with a key the database
-- never sees (AES-GCM, bound to the account), confirmed by its first code
-- (mfa_enrolled_at); the last step whose code was used, so that a code is
-- good once; ten one-time recovery codes, as keyed hashes, each removed
-- when used.
ALTER TABLE admins ADD COLUMN mfa_secret bytea,
    ADD COLUMN mfa_enrolled_at timestamptz,
    ADD COLUMN mfa_last_step bigint NOT NULL DEFAULT 0,
    ADD COLUMN mfa_recovery bytea[] NOT NULL DEFAULT '{}',
    ADD CONSTRAINT admins_mfa_check CHECK (mfa_enrolled_at IS NULL OR mfa_secret IS NOT NULL),
    ADD CONSTRAINT admins_mfa_recovery_check CHECK (cardinality(mfa_recovery) <= 10);
ALTER TABLE security_events DROP CONSTRAINT security_events_kind_check,
    ADD CONSTRAINT security_events_kind_check CHECK (kind IN ('login_ok', 'login_failed', 'login_disabled',
        'admin_added', 'admin_disabled', 'admin_enabled', 'account_unlocked', 'password_changed', 'password_change_failed',
        'request_viewed', 'requests_listed', 'applicant_erased',
        'mfa_asked', 'mfa_enrolled', 'mfa_failed', 'mfa_recovery_used', 'mfa_reset'));

-- +goose Down
ALTER TABLE security_events DROP CONSTRAINT security_events_kind_check,
    ADD CONSTRAINT security_events_kind_check CHECK (kind IN ('login_ok', 'login_failed', 'login_disabled',
        'admin_added', 'admin_disabled', 'admin_enabled', 'account_unlocked', 'password_changed', 'password_change_failed',
        'request_viewed', 'requests_listed', 'applicant_erased'));
ALTER TABLE admins DROP COLUMN mfa_recovery, DROP COLUMN mfa_last_step, DROP COLUMN mfa_enrolled_at, DROP COLUMN mfa_secret;
