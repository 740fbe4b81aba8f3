package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/loandesk/loandesk/internal/domain"
)

const loanColumns = `id, tracking_code, full_name, email, document_number, gender, amount, status, reason, score,
	idempotency_key, fingerprint, created_at, updated_at, decided_at, decided_by, deleted_at, erased_at`

// scanLoan reads a request's columns (loanColumns), then any extra ones.
func scanLoan(row pgx.Row, extra ...any) (*domain.LoanRequest, error) {
	var l domain.LoanRequest
	err := row.Scan(append([]any{&l.ID, &l.TrackingCode, &l.FullName, &l.Email, &l.DocumentNumber, &l.Gender, &l.Amount,
		&l.Status, &l.Reason, &l.Score, &l.IdempotencyKey, &l.Fingerprint, &l.CreatedAt, &l.UpdatedAt,
		&l.DecidedAt, &l.DecidedBy, &l.DeletedAt, &l.ErasedAt}, extra...)...)
	if err != nil {
		return nil, err
	}
	return &l, nil
}

// CreateLoan saves a new request with what follows from it: the audit
// event of its automatic decision, or, when it is undecided, its decision
// job. When the idempotency key is taken it writes nothing and returns the
// request that holds it (existed=true): the unique key makes concurrent
// repeats produce exactly one row, and so exactly one job.
//
// A decided request (the usual case) is one statement, so one round trip:
// the row and its audit event commit together or not at all.
func (db *DB) CreateLoan(ctx context.Context, l *domain.LoanRequest) (*domain.LoanRequest, bool, error) {
	if l.Undecided() {
		return db.createQueued(ctx, l)
	}
	q := FilingQuery(l)
	var stored *domain.LoanRequest
	err := db.onPrimary(ctx, func(ctx context.Context) (err error) {
		stored, err = scanLoan(db.pool.QueryRow(ctx, q.SQL, q.Args...))
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		stored, err = db.LoanByIdempotencyKey(ctx, l.IdempotencyKey)
		if err != nil {
			return nil, false, err
		}
		return stored, !ours(stored, l), nil
	}
	if err != nil {
		return nil, false, translate(err, "saving the loan request")
	}
	return stored, false, nil
}

// createQueued saves an undecided request and its decision job in one
// transaction (River inserts the job with the transaction it is given).
func (db *DB) createQueued(ctx context.Context, l *domain.LoanRequest) (*domain.LoanRequest, bool, error) {
	var stored *domain.LoanRequest
	existed := false
	err := db.onPrimary(ctx, func(ctx context.Context) error {
		return db.inTx(ctx, func(tx pgx.Tx) error {
			existed = false
			var err error
			stored, err = scanLoan(tx.QueryRow(ctx, `
			INSERT INTO loan_requests (`+insertColumns+`) VALUES (`+insertValues+`)
			ON CONFLICT (idempotency_key) DO NOTHING
			RETURNING `+loanColumns, insertArgs(l)...))
			if errors.Is(err, pgx.ErrNoRows) {
				existed = true
				stored, err = scanLoan(tx.QueryRow(ctx, `SELECT `+loanColumns+` FROM loan_requests WHERE idempotency_key = $1`, l.IdempotencyKey))
				return err
			}
			if err != nil {
				return err
			}
			if err := settleClaim(ctx, tx, l.IdempotencyKey); err != nil {
				return err
			}
			return db.queueDecision(ctx, tx, stored.ID)
		})
	})
	if err != nil {
		return nil, false, translate(err, "saving the loan request")
	}
	return stored, existed && !ours(stored, l), nil
}

// ours: the stored request is the one this call saved — an attempt that
// committed before its connection died (onPrimary tried again), not another
// call's. Tracking codes are random per call, so only ours carries ours.
func ours(stored, l *domain.LoanRequest) bool { return stored.TrackingCode == l.TrackingCode }

const (
	insertColumns = `tracking_code, full_name, email, document_number, gender, amount, status, reason,
		score, idempotency_key, fingerprint, created_at, updated_at, decided_at, decided_by`
	insertValues = `$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15`
)

func insertArgs(l *domain.LoanRequest) []any {
	return []any{l.TrackingCode, l.FullName, l.Email, l.DocumentNumber, l.Gender, l.Amount, l.Status, l.Reason,
		l.Score, l.IdempotencyKey, l.Fingerprint, l.CreatedAt, l.UpdatedAt, l.DecidedAt, l.DecidedBy}
}

// Query is one SQL statement and its arguments.
type Query struct {
	SQL  string
	Args []any
}

// FilingQuery saves a decided request, the audit event of its decision and
// its key's settled claim (claims.go) in one statement; it returns no row
// when the idempotency key is taken.
// Exported for tools/bench, which runs the same SQL under pgbench.
func FilingQuery(l *domain.LoanRequest) Query {
	before, _ := json.Marshal(undecided.AuditState())
	after, _ := json.Marshal(l.AuditState())
	return Query{SQL: `
		WITH saved AS (
			INSERT INTO loan_requests (` + insertColumns + `) VALUES (` + insertValues + `)
			ON CONFLICT (idempotency_key) DO NOTHING
			RETURNING ` + loanColumns + `
		), audited AS (
			INSERT INTO audit_events (request_id, actor, action, comment, before, after, created_at)
			SELECT id, $16, $17, '', $18, $19, updated_at FROM saved
		), settled AS (
			UPDATE filing_claims SET done = true WHERE idempotency_key = $10
		)
		SELECT ` + loanColumns + ` FROM saved`,
		Args: append(insertArgs(l), domain.System.Name, domain.ActionDecide, before, after)}
}

// undecided is a request as filed, before any decision: the "before" of the
// audit event of a decision taken while filing.
var undecided = &domain.LoanRequest{Status: domain.StatusInReview}

// LoanByIdempotencyKey finds the request filed under key.
func (db *DB) LoanByIdempotencyKey(ctx context.Context, key string) (*domain.LoanRequest, error) {
	l, err := scanLoan(db.pool.QueryRow(ctx, `SELECT `+loanColumns+` FROM loan_requests WHERE idempotency_key = $1`, key))
	return l, translate(err, "request")
}

// LoanByTrackingCode hides deleted requests from the public.
func (db *DB) LoanByTrackingCode(ctx context.Context, code string) (*domain.LoanRequest, error) {
	l, err := scanLoan(db.pool.QueryRow(ctx, `SELECT `+loanColumns+` FROM loan_requests WHERE tracking_code = $1 AND deleted_at IS NULL`, code))
	return l, translate(err, "request")
}

// LoanByID returns a request, deleted or not.
func (db *DB) LoanByID(ctx context.Context, id int64) (*domain.LoanRequest, error) {
	l, err := scanLoan(db.pool.QueryRow(ctx, `SELECT `+loanColumns+` FROM loan_requests WHERE id = $1`, id))
	return l, translate(err, "request")
}

// UpdateLoan locks the row, lets fn change it, and saves it with an audit
// event holding the before and after state, all in one transaction.
func (db *DB) UpdateLoan(ctx context.Context, id int64, actor domain.Actor, fn domain.UpdateFunc) (*domain.LoanRequest, error) {
	var out *domain.LoanRequest
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		l, err := scanLoan(tx.QueryRow(ctx, `SELECT `+loanColumns+` FROM loan_requests WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return err
		}
		before := *l
		action, comment, err := fn(l)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `
			UPDATE loan_requests SET status = $2, reason = $3, score = $4, updated_at = $5, decided_at = $6,
				decided_by = $7, deleted_at = $8
			WHERE id = $1`,
			l.ID, l.Status, l.Reason, l.Score, l.UpdatedAt, l.DecidedAt, l.DecidedBy, l.DeletedAt)
		if err != nil {
			return fmt.Errorf("updating loan request: %w", err)
		}
		if err := insertAudit(ctx, tx, l.ID, actor, action, comment, &before, l); err != nil {
			return err
		}
		// An admin's change is in the append-only security log too: the
		// trail's comments go with an erasure, this line stays.
		if kind := domain.ActionEvent(action); kind != "" && actor.AdminID != nil {
			if _, err := tx.Exec(ctx, `INSERT INTO security_events (kind, admin_id, request_id) VALUES ($1, $2, $3)`,
				kind, actor.AdminID, l.ID); err != nil {
				return fmt.Errorf("writing security event: %w", err)
			}
		}
		out = l
		return nil
	})
	return out, translate(err, "request")
}

// insertAudit records one change to a request, with its state before and after.
func insertAudit(ctx context.Context, tx pgx.Tx, id int64, actor domain.Actor, action, comment string, before, after *domain.LoanRequest) error {
	b, _ := json.Marshal(before.AuditState())
	a, _ := json.Marshal(after.AuditState())
	_, err := tx.Exec(ctx, `
		INSERT INTO audit_events (request_id, admin_id, actor, action, comment, before, after, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		id, actor.AdminID, actor.Name, action, strings.TrimSpace(comment), b, a, after.UpdatedAt)
	if err != nil {
		return fmt.Errorf("writing audit event: %w", err)
	}
	return nil
}

// AuditTrail lists a request's events, oldest first.
func (db *DB) AuditTrail(ctx context.Context, requestID int64) ([]domain.AuditEvent, error) {
	rows, err := db.pool.Query(ctx, `
		SELECT id, request_id, actor, action, comment, before, after, created_at
		FROM audit_events WHERE request_id = $1 ORDER BY id`, requestID)
	if err != nil {
		return nil, translate(err, "audit trail")
	}
	events, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (domain.AuditEvent, error) {
		var e domain.AuditEvent
		err := r.Scan(&e.ID, &e.RequestID, &e.Actor, &e.Action, &e.Comment, &e.Before, &e.After, &e.CreatedAt)
		return e, err
	})
	return events, translate(err, "audit trail")
}
