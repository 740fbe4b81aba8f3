package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/loandesk/loandesk/internal/domain"
)

const loanColumns = `id, tracking_code, full_name, email, document_number, gender, amount, status, reason, score,
	idempotency_key, fingerprint, created_at, updated_at, decided_at, decided_by, deleted_at`

func scanLoan(row pgx.Row) (*domain.LoanRequest, error) {
	var l domain.LoanRequest
	err := row.Scan(&l.ID, &l.TrackingCode, &l.FullName, &l.Email, &l.DocumentNumber, &l.Gender, &l.Amount,
		&l.Status, &l.Reason, &l.Score, &l.IdempotencyKey, &l.Fingerprint, &l.CreatedAt, &l.UpdatedAt,
		&l.DecidedAt, &l.DecidedBy, &l.DeletedAt)
	if err != nil {
		return nil, err
	}
	return &l, nil
}

// CreateLoan saves a new request in one transaction with what follows from
// it: the audit event of its automatic decision, or, when it is undecided,
// its decision job. When the idempotency key is taken it writes nothing and
// returns the request that holds it (existed=true): the unique key makes
// concurrent repeats produce exactly one row, and so exactly one job.
func (db *DB) CreateLoan(ctx context.Context, l *domain.LoanRequest) (*domain.LoanRequest, bool, error) {
	var stored *domain.LoanRequest
	existed := false
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		stored, err = scanLoan(tx.QueryRow(ctx, `
			INSERT INTO loan_requests (tracking_code, full_name, email, document_number, gender, amount, status, reason,
				score, idempotency_key, fingerprint, created_at, updated_at, decided_at, decided_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
			ON CONFLICT (idempotency_key) DO NOTHING
			RETURNING `+loanColumns,
			l.TrackingCode, l.FullName, l.Email, l.DocumentNumber, l.Gender, l.Amount, l.Status, l.Reason,
			l.Score, l.IdempotencyKey, l.Fingerprint, l.CreatedAt, l.UpdatedAt, l.DecidedAt, l.DecidedBy))
		if errors.Is(err, pgx.ErrNoRows) {
			existed = true
			stored, err = scanLoan(tx.QueryRow(ctx, `SELECT `+loanColumns+` FROM loan_requests WHERE idempotency_key = $1`, l.IdempotencyKey))
			return err
		}
		if err != nil {
			return err
		}
		if stored.Undecided() {
			_, err = db.jobs.InsertTx(ctx, tx, domain.DecisionJob{RequestID: stored.ID}, &river.InsertOpts{MaxAttempts: domain.DecisionAttempts})
			return err
		}
		return insertAudit(ctx, tx, stored.ID, domain.System, domain.ActionDecide, "", undecided, stored)
	})
	if err != nil {
		return nil, false, translate(err, "saving the loan request")
	}
	return stored, existed, nil
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
		out = l
		return nil
	})
	return out, translate(err, "request")
}

// insertAudit records one change to a request, with its state before and after.
func insertAudit(ctx context.Context, tx pgx.Tx, id int64, actor domain.Actor, action, comment string, before, after *domain.LoanRequest) error {
	b, _ := json.Marshal(auditView(before))
	a, _ := json.Marshal(auditView(after))
	_, err := tx.Exec(ctx, `
		INSERT INTO audit_events (request_id, admin_id, actor, action, comment, before, after, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		id, actor.AdminID, actor.Name, action, strings.TrimSpace(comment), b, a, after.UpdatedAt)
	if err != nil {
		return fmt.Errorf("writing audit event: %w", err)
	}
	return nil
}

// auditView is the part of a request whose changes the audit trail records.
func auditView(l *domain.LoanRequest) map[string]any {
	return map[string]any{
		"status": l.Status, "reason": l.Reason, "score": l.Score,
		"decided_at": l.DecidedAt, "decided_by": l.DecidedBy, "deleted_at": l.DeletedAt,
	}
}

// ListLoans returns one page of requests, newest first.
func (db *DB) ListLoans(ctx context.Context, f domain.Filter) (domain.Page, error) {
	where := []string{"deleted_at IS NULL"}
	if f.Deleted {
		where[0] = "deleted_at IS NOT NULL"
	}
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if f.Status != "" {
		where = append(where, "status = "+arg(f.Status))
	}
	if !f.From.IsZero() {
		where = append(where, "created_at >= "+arg(f.From))
	}
	if !f.To.IsZero() {
		where = append(where, "created_at < "+arg(f.To))
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		// The search text is a value, never SQL; LIKE wildcards in it are
		// literal. Case and accents fold on both sides ("perez" finds
		// "PÉREZ"), the same expression as the trigram index.
		like := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(q)
		where = append(where, "loandesk_fold(full_name || ' ' || email || ' ' || document_number) LIKE '%' || loandesk_fold("+arg(like)+") || '%'")
	}
	cond := strings.Join(where, " AND ")
	var total int
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM loan_requests WHERE `+cond, args...).Scan(&total); err != nil {
		return domain.Page{}, translate(err, "counting loan requests")
	}
	limit, offset := arg(f.PageSize), arg((f.Page-1)*f.PageSize)
	rows, err := db.pool.Query(ctx, `SELECT `+loanColumns+` FROM loan_requests WHERE `+cond+
		` ORDER BY created_at DESC, id DESC LIMIT `+limit+` OFFSET `+offset, args...)
	if err != nil {
		return domain.Page{}, translate(err, "listing loan requests")
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (domain.LoanRequest, error) {
		l, err := scanLoan(r)
		if err != nil {
			return domain.LoanRequest{}, err
		}
		return *l, nil
	})
	if err != nil {
		return domain.Page{}, translate(err, "listing loan requests")
	}
	return domain.Page{Items: items, Total: total, Page: f.Page, PageSize: f.PageSize}, nil
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

// Stats counts live requests by status, and the deleted ones.
func (db *DB) Stats(ctx context.Context) (domain.Stats, error) {
	var s domain.Stats
	err := db.pool.QueryRow(ctx, `
		SELECT count(*) FILTER (WHERE status = 'in_review' AND deleted_at IS NULL),
		       count(*) FILTER (WHERE status = 'approved' AND deleted_at IS NULL),
		       count(*) FILTER (WHERE status = 'rejected' AND deleted_at IS NULL),
		       count(*) FILTER (WHERE deleted_at IS NOT NULL)
		FROM loan_requests`).Scan(&s.InReview, &s.Approved, &s.Rejected, &s.Deleted)
	return s, translate(err, "stats")
}
