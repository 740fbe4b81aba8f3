package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

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

// CreateLoan inserts l, or returns the request that already holds its
// idempotency key (existed=true). The unique key makes concurrent repeats
// produce exactly one row.
func (db *DB) CreateLoan(ctx context.Context, l *domain.LoanRequest) (*domain.LoanRequest, bool, error) {
	row := db.pool.QueryRow(ctx, `
		INSERT INTO loan_requests (tracking_code, full_name, email, document_number, gender, amount, status, reason,
			score, idempotency_key, fingerprint, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
		ON CONFLICT (idempotency_key) DO NOTHING
		RETURNING `+loanColumns,
		l.TrackingCode, l.FullName, l.Email, l.DocumentNumber, l.Gender, l.Amount, l.Status, l.Reason,
		l.Score, l.IdempotencyKey, l.Fingerprint, l.CreatedAt, l.UpdatedAt)
	stored, err := scanLoan(row)
	if err == nil {
		return stored, false, nil
	}
	if err != pgx.ErrNoRows {
		return nil, false, fmt.Errorf("inserting loan request: %w", err)
	}
	stored, err = scanLoan(db.pool.QueryRow(ctx, `SELECT `+loanColumns+` FROM loan_requests WHERE idempotency_key = $1`, l.IdempotencyKey))
	if err != nil {
		return nil, false, fmt.Errorf("loading loan request by idempotency key: %w", err)
	}
	return stored, true, nil
}

// LoanByTrackingCode hides deleted requests from the public.
func (db *DB) LoanByTrackingCode(ctx context.Context, code string) (*domain.LoanRequest, error) {
	l, err := scanLoan(db.pool.QueryRow(ctx, `SELECT `+loanColumns+` FROM loan_requests WHERE tracking_code = $1 AND deleted_at IS NULL`, code))
	return l, notFound(err, "request")
}

// LoanByID returns a request, deleted or not.
func (db *DB) LoanByID(ctx context.Context, id int64) (*domain.LoanRequest, error) {
	l, err := scanLoan(db.pool.QueryRow(ctx, `SELECT `+loanColumns+` FROM loan_requests WHERE id = $1`, id))
	return l, notFound(err, "request")
}

// UpdateLoan locks the row, lets fn change it, and saves it with an audit
// event holding the before and after state, all in one transaction.
func (db *DB) UpdateLoan(ctx context.Context, id int64, actor domain.Actor, fn domain.UpdateFunc) (*domain.LoanRequest, error) {
	var out *domain.LoanRequest
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		l, err := scanLoan(tx.QueryRow(ctx, `SELECT `+loanColumns+` FROM loan_requests WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return notFound(err, "request")
		}
		before := auditView(l)
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
		b, _ := json.Marshal(before)
		a, _ := json.Marshal(auditView(l))
		_, err = tx.Exec(ctx, `
			INSERT INTO audit_events (request_id, admin_id, actor, action, comment, before, after, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			l.ID, actor.AdminID, actor.Name, action, strings.TrimSpace(comment), b, a, l.UpdatedAt)
		if err != nil {
			return fmt.Errorf("writing audit event: %w", err)
		}
		out = l
		return nil
	})
	return out, err
}

// auditView is the part of a request whose changes the audit trail records.
func auditView(l *domain.LoanRequest) map[string]any {
	return map[string]any{
		"status": l.Status, "reason": l.Reason, "score": l.Score,
		"decided_at": l.DecidedAt, "decided_by": l.DecidedBy, "deleted_at": l.DeletedAt,
	}
}

// MarkQueued records when the request was put in the decision queue.
func (db *DB) MarkQueued(ctx context.Context, id int64, at time.Time) error {
	_, err := db.pool.Exec(ctx, `UPDATE loan_requests SET queued_at = $2 WHERE id = $1`, id, at)
	return err
}

// StaleUndecided finds undecided requests the queue may have missed.
func (db *DB) StaleUndecided(ctx context.Context, notQueuedBefore, requeueBefore time.Time, limit int) ([]int64, error) {
	rows, err := db.pool.Query(ctx, `
		SELECT id FROM loan_requests
		WHERE status = 'in_review' AND decided_at IS NULL AND reason = '' AND deleted_at IS NULL
		  AND ((queued_at IS NULL AND created_at < $1) OR queued_at < $2)
		ORDER BY created_at LIMIT $3`, notQueuedBefore, requeueBefore, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
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
		// The search text is a value, never SQL; LIKE wildcards in it are literal.
		like := "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(strings.ToLower(q)) + "%"
		where = append(where, "lower(full_name || ' ' || email || ' ' || document_number) LIKE "+arg(like))
	}
	cond := strings.Join(where, " AND ")
	var total int
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM loan_requests WHERE `+cond, args...).Scan(&total); err != nil {
		return domain.Page{}, fmt.Errorf("counting loan requests: %w", err)
	}
	limit, offset := arg(f.PageSize), arg((f.Page-1)*f.PageSize)
	rows, err := db.pool.Query(ctx, `SELECT `+loanColumns+` FROM loan_requests WHERE `+cond+
		` ORDER BY created_at DESC, id DESC LIMIT `+limit+` OFFSET `+offset, args...)
	if err != nil {
		return domain.Page{}, fmt.Errorf("listing loan requests: %w", err)
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (domain.LoanRequest, error) {
		l, err := scanLoan(r)
		if err != nil {
			return domain.LoanRequest{}, err
		}
		return *l, nil
	})
	if err != nil {
		return domain.Page{}, err
	}
	return domain.Page{Items: items, Total: total, Page: f.Page, PageSize: f.PageSize}, nil
}

// AuditTrail lists a request's events, oldest first.
func (db *DB) AuditTrail(ctx context.Context, requestID int64) ([]domain.AuditEvent, error) {
	rows, err := db.pool.Query(ctx, `
		SELECT id, request_id, actor, action, comment, before, after, created_at
		FROM audit_events WHERE request_id = $1 ORDER BY id`, requestID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (domain.AuditEvent, error) {
		var e domain.AuditEvent
		err := r.Scan(&e.ID, &e.RequestID, &e.Actor, &e.Action, &e.Comment, &e.Before, &e.After, &e.CreatedAt)
		return e, err
	})
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
	return s, err
}
