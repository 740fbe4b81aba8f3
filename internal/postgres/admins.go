package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/loandesk/loandesk/internal/domain"
)

const adminColumns = `id, email, password_hash, created_at, disabled_at, session_epoch, mfa_secret, mfa_enrolled_at`

func scanAdmin(row pgx.Row) (*domain.Admin, error) {
	var a domain.Admin
	if err := row.Scan(&a.ID, &a.Email, &a.PasswordHash, &a.CreatedAt, &a.DisabledAt, &a.SessionEpoch, &a.MFASecret, &a.MFAEnrolledAt); err != nil {
		return nil, err
	}
	return &a, nil
}

// AdminByEmail finds an admin account by its (lower-case) email.
func (db *DB) AdminByEmail(ctx context.Context, email string) (*domain.Admin, error) {
	a, err := scanAdmin(db.pool.QueryRow(ctx, `SELECT `+adminColumns+` FROM admins WHERE email = $1`, email))
	return a, translate(err, "admin")
}

// AdminByID finds an admin account by its id.
func (db *DB) AdminByID(ctx context.Context, id int64) (*domain.Admin, error) {
	a, err := scanAdmin(db.pool.QueryRow(ctx, `SELECT `+adminColumns+` FROM admins WHERE id = $1`, id))
	return a, translate(err, "admin")
}

// EnsureAdmin creates the bootstrap admin on the first start only: while
// no admin exists. Afterwards accounts are `loandesk admin`'s, and an
// existing password is never overwritten by configuration.
func (db *DB) EnsureAdmin(ctx context.Context, email, passwordHash string) (bool, error) {
	// With its line in the security log, in the same statement.
	var created bool
	err := db.pool.QueryRow(ctx, `WITH a AS (
			INSERT INTO admins (email, password_hash) SELECT $1, $2 WHERE NOT EXISTS (SELECT 1 FROM admins)
			ON CONFLICT (email) DO NOTHING RETURNING id, session_epoch
		), e AS (INSERT INTO security_events (kind, admin_id) SELECT $3::text, id FROM a)
		SELECT EXISTS (SELECT 1 FROM a)`, email, passwordHash, domain.EventAdminAdded).Scan(&created)
	if err != nil {
		return false, translate(err, "admin")
	}
	return created, nil
}

// AddAdmin creates an account. Errors: ECONFLICT (the email has one).
func (db *DB) AddAdmin(ctx context.Context, email, passwordHash string) (*domain.Admin, error) {
	// One statement: the account and its line in the security log, or
	// neither.
	a, err := scanAdmin(db.pool.QueryRow(ctx, `WITH a AS (
			INSERT INTO admins (email, password_hash) VALUES ($1, $2) RETURNING `+adminColumns+`
		), e AS (INSERT INTO security_events (kind, admin_id) SELECT $3::text, id FROM a)
		SELECT `+adminColumns+` FROM a`, email, passwordHash, domain.EventAdminAdded))
	return a, translate(err, "an admin with this email")
}

// SetAdminDisabled disables an account (keeping the moment it first was,
// and ending its sessions for good: enabling it again revives none) or
// enables it again, with its line in the security log. Errors: ENOTFOUND.
func (db *DB) SetAdminDisabled(ctx context.Context, email string, disabled bool) (*domain.Admin, error) {
	kind := domain.EventAdminEnabled
	if disabled {
		kind = domain.EventAdminDisabled
	}
	a, err := scanAdmin(db.pool.QueryRow(ctx, `WITH a AS (
			UPDATE admins SET disabled_at = CASE WHEN $2 THEN coalesce(disabled_at, now()) END,
				session_epoch = session_epoch + CASE WHEN $2 THEN 1 ELSE 0 END
			WHERE email = $1 RETURNING `+adminColumns+`
		), e AS (INSERT INTO security_events (kind, admin_id) SELECT $3::text, id FROM a)
		SELECT `+adminColumns+` FROM a`, email, disabled, kind))
	return a, translate(err, "admin")
}

// SetPassword changes an enabled admin's password and ends the account's
// sessions (the epoch moves on from epoch, the asking session's), with its
// line in the security log, in one statement. Errors: ENOTFOUND (no such
// admin, disabled, or its epoch moved on meanwhile).
func (db *DB) SetPassword(ctx context.Context, adminID int64, passwordHash string, epoch int64, e domain.SecurityEvent) (int64, error) {
	err := db.pool.QueryRow(ctx, `WITH a AS (
			UPDATE admins SET password_hash = $2, session_epoch = session_epoch + 1
			WHERE id = $1 AND disabled_at IS NULL AND session_epoch = $5 RETURNING id, session_epoch
		), e AS (INSERT INTO security_events (kind, admin_id, client) SELECT $3::text, id, $4 FROM a)
		SELECT session_epoch FROM a`, adminID, passwordHash, e.Kind, e.Client, epoch).Scan(&epoch)
	return epoch, translate(err, "admin")
}

// SetMFASecret stores a TOTP secret waiting for its first code, for an
// enabled admin without TOTP. Errors: ENOTFOUND.
func (db *DB) SetMFASecret(ctx context.Context, adminID int64, sealed []byte) error {
	tag, err := db.pool.Exec(ctx, `UPDATE admins SET mfa_secret = $2
		WHERE id = $1 AND disabled_at IS NULL AND mfa_enrolled_at IS NULL`, adminID, sealed)
	if err == nil && tag.RowsAffected() == 0 {
		return domain.Errorf(domain.ENOTFOUND, "admin not found")
	}
	return translate(err, "admin")
}

// EnableMFA confirms the stored secret, keeps the recovery codes' hashes
// and ends the account's other sessions (the epoch moves on from epoch),
// with log's lines, in one statement. Errors: ENOTFOUND.
func (db *DB) EnableMFA(ctx context.Context, adminID, epoch, step int64, recovery [][]byte, log domain.Lines) (int64, error) {
	err := db.pool.QueryRow(ctx, `WITH a AS (
			UPDATE admins SET mfa_enrolled_at = now(), mfa_last_step = $3, mfa_recovery = $4, session_epoch = session_epoch + 1
			WHERE id = $1 AND disabled_at IS NULL AND mfa_enrolled_at IS NULL AND mfa_secret IS NOT NULL AND session_epoch = $2
			RETURNING id, session_epoch
		), e AS (`+logLines(5)+`)
		SELECT session_epoch FROM a`, adminID, epoch, step, recovery, log.Kinds, log.Client).Scan(&epoch)
	return epoch, translate(err, "admin")
}

// logLines appends one security-log line per kind ($n, text[]) for the
// account a CTE named a returned, from the client $n+1.
func logLines(n int) string {
	return fmt.Sprintf(`INSERT INTO security_events (kind, admin_id, client)
		SELECT k, a.id, $%d FROM a, unnest($%d::text[]) WITH ORDINALITY AS l(k, i) ORDER BY l.i`, n+1, n)
}

// UseMFAStep moves the account's last used TOTP step to step, if that is
// later, with log's lines: of two logins with one code, one gets true.
func (db *DB) UseMFAStep(ctx context.Context, adminID, step int64, log domain.Lines) (bool, error) {
	var used bool
	err := db.pool.QueryRow(ctx, `WITH a AS (
			UPDATE admins SET mfa_last_step = $2
			WHERE id = $1 AND mfa_enrolled_at IS NOT NULL AND mfa_last_step < $2 RETURNING id
		), e AS (`+logLines(3)+`)
		SELECT EXISTS (SELECT 1 FROM a)`, adminID, step, log.Kinds, log.Client).Scan(&used)
	return used, translate(err, "admin")
}

// UseRecoveryCode removes the recovery code with hash from the account's,
// if it has it, with log's lines, and says how many are left.
func (db *DB) UseRecoveryCode(ctx context.Context, adminID int64, hash []byte, log domain.Lines) (bool, int, error) {
	var left int
	err := db.pool.QueryRow(ctx, `WITH a AS (
			UPDATE admins SET mfa_recovery = array_remove(mfa_recovery, $2)
			WHERE id = $1 AND mfa_enrolled_at IS NOT NULL AND $2 = ANY (mfa_recovery)
			RETURNING id, cardinality(mfa_recovery) AS remaining
		), e AS (`+logLines(3)+`)
		SELECT remaining FROM a`, adminID, hash, log.Kinds, log.Client).Scan(&left)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, 0, nil
	}
	if err != nil {
		return false, 0, translate(err, "admin")
	}
	return true, left, nil
}

// ResetMFA removes an admin's TOTP and recovery codes (they set it up
// again at their next login where it is required) and ends their sessions,
// with its line in the security log. Errors: ENOTFOUND.
func (db *DB) ResetMFA(ctx context.Context, email string) (*domain.Admin, error) {
	a, err := scanAdmin(db.pool.QueryRow(ctx, `WITH a AS (
			UPDATE admins SET mfa_secret = NULL, mfa_enrolled_at = NULL, mfa_last_step = 0, mfa_recovery = '{}',
				session_epoch = session_epoch + 1
			WHERE email = $1 RETURNING `+adminColumns+`
		), e AS (INSERT INTO security_events (kind, admin_id) SELECT $2::text, id FROM a)
		SELECT `+adminColumns+` FROM a`, email, domain.EventMFAReset))
	return a, translate(err, "admin")
}

// ListAdmins returns every account by email; there are as many as
// operators made, never more per request.
func (db *DB) ListAdmins(ctx context.Context) ([]domain.Admin, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+adminColumns+` FROM admins ORDER BY email`)
	if err != nil {
		return nil, translate(err, "admins")
	}
	admins, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (domain.Admin, error) {
		a, err := scanAdmin(r)
		if err != nil {
			return domain.Admin{}, err
		}
		return *a, nil
	})
	return admins, translate(err, "admins")
}

// RecordSecurityEvent appends to the security log.
func (db *DB) RecordSecurityEvent(ctx context.Context, e domain.SecurityEvent) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO security_events (kind, admin_id, subject, client, request_id, detail)
		VALUES ($1, $2, $3, $4, $5, $6)`, e.Kind, e.AdminID, e.Subject, e.Client, e.RequestID, e.Detail)
	return translate(err, "security event")
}

// PruneSecurityEvents deletes up to limit security events older than
// keepDays (at least 365: the function refuses less, and the table's
// trigger refuses any younger row to every role), the oldest first; rows
// another transaction holds are skipped.
func (db *DB) PruneSecurityEvents(ctx context.Context, keepDays, limit int) (int, error) {
	var n int
	err := db.pool.QueryRow(ctx, `SELECT prune_security_events($1, $2)`, keepDays, limit).Scan(&n)
	return n, translate(err, "security events")
}

// SecurityEvents returns the newest events first under f (its Limit at
// most MaxPageSize + 1 from the domain). Only the filters that are set are
// in the statement, planned for their values each time (planned): then
// the index on admin_id, the one on request_id or the BRIN on at serves
// them, where a generic plan for "$1 = 0 OR admin_id = $1" could use none.
func (db *DB) SecurityEvents(ctx context.Context, f domain.AuditFilter) ([]domain.SecurityEvent, error) {
	var where []string
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if f.AdminID != 0 {
		where = append(where, "e.admin_id = "+arg(f.AdminID))
	}
	if f.RequestID != 0 {
		where = append(where, "e.request_id = "+arg(f.RequestID))
	}
	if !f.From.IsZero() {
		where = append(where, "e.at >= "+arg(f.From), "e.at < "+arg(f.To))
	}
	if f.Before != 0 {
		where = append(where, "e.id < "+arg(f.Before))
	}
	sql := `SELECT e.id, e.at, e.kind, e.admin_id, coalesce(a.email, ''), e.subject, e.client, e.request_id, e.detail
		FROM security_events e LEFT JOIN admins a ON a.id = e.admin_id`
	if len(where) > 0 {
		sql += " WHERE " + strings.Join(where, " AND ")
	}
	sql += " ORDER BY e.id DESC LIMIT " + arg(f.Limit)
	rows, err := db.pool.Query(ctx, sql, planned(args)...)
	if err != nil {
		return nil, translate(err, "security events")
	}
	events, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (domain.SecurityEvent, error) {
		var e domain.SecurityEvent
		err := r.Scan(&e.ID, &e.At, &e.Kind, &e.AdminID, &e.AdminEmail, &e.Subject, &e.Client, &e.RequestID, &e.Detail)
		return e, err
	})
	return events, translate(err, "security events")
}
