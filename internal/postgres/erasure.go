package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/loandesk/loandesk/internal/domain"
)

// EraseApplicant blanks the personal data of the applicant of request id on
// every request filed with its document number (found through
// loan_documents, whose whole-number suffix is the number itself), in one
// transaction with their audit events and the security log's line. The
// search tables follow by their triggers; filing claims made from the
// applicant's data go too. Errors: ENOTFOUND, ECONFLICT, EINVALID (the
// document number is not request id's).
func (db *DB) EraseApplicant(ctx context.Context, id int64, documentNumber string, actor domain.Actor, e domain.SecurityEvent) (int, error) {
	var n int
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		var doc string
		var erased bool
		err := tx.QueryRow(ctx, `SELECT document_number, erased_at IS NOT NULL FROM loan_requests WHERE id = $1 FOR UPDATE`, id).Scan(&doc, &erased)
		if errors.Is(err, pgx.ErrNoRows) {
			return domain.Errorf(domain.ENOTFOUND, "request not found")
		}
		if err != nil {
			return err
		}
		if erased {
			return domain.Errorf(domain.ECONFLICT, "this applicant's data is erased already")
		}
		if doc != documentNumber {
			return &domain.Error{Code: domain.EINVALID, Message: "the document number is not this request's",
				Fields: map[string]string{"document_number": "is not this request's"}}
		}
		return tx.QueryRow(ctx, erase(`SELECT request_id AS id FROM loan_documents WHERE suffix = $1`, `r.document_number = $1`)+`,
			logged AS (INSERT INTO security_events (kind, admin_id, request_id) VALUES ($5, $2::bigint, $6))
			SELECT count(*) FROM erased`, doc, actor.AdminID, actor.Name, domain.ActionErase, e.Kind, id).Scan(&n)
	})
	return n, translate(err, "request")
}

// erase is the statement both erasures share, up to its last CTE: the
// requests target selects (ids; with the condition also checked on the row
// as it is updated) lose their applicant's data, with the fingerprint made
// from it; the comments of their trails and their filing claims go; each
// gets an ActionErase audit event by $2 (admin id, or NULL) and $3 (actor)
// with action $4, whose state is the request's, in the keys
// domain.LoanRequest.AuditState writes.
func erase(target, also string) string {
	return `WITH target AS (` + target + `), erased AS (
			UPDATE loan_requests r SET full_name = '', email = '', document_number = '', fingerprint = '',
				erased_at = now(), updated_at = now()
			FROM target WHERE r.id = target.id AND r.erased_at IS NULL AND ` + also + `
			RETURNING r.id, r.idempotency_key, r.updated_at, jsonb_build_object('status', r.status, 'reason', r.reason,
				'score', r.score, 'decided_at', r.decided_at, 'decided_by', r.decided_by, 'deleted_at', r.deleted_at) AS state
		), comments AS (
			UPDATE audit_events SET comment = '' WHERE request_id IN (SELECT id FROM erased) AND comment <> ''
		), claims AS (
			DELETE FROM filing_claims WHERE idempotency_key IN (SELECT idempotency_key FROM erased)
		), trail AS (
			INSERT INTO audit_events (request_id, admin_id, actor, action, comment, before, after, created_at)
			SELECT id, $2::bigint, $3::text, $4::text, '', state, state, updated_at FROM erased
		)`
}

// EraseExpired erases the applicant's data of up to limit requests decided
// (or, never decided, filed) before before, oldest first, skipping rows
// another transaction holds (a decision under way, another worker's
// batch), as the system: the retention. It returns how many it erased.
func (db *DB) EraseExpired(ctx context.Context, before time.Time, limit int) (int, error) {
	var n int
	err := db.pool.QueryRow(ctx, erase(`SELECT id FROM loan_requests WHERE erased_at IS NULL AND coalesce(decided_at, created_at) < $1
			ORDER BY coalesce(decided_at, created_at) LIMIT $5 FOR UPDATE SKIP LOCKED`, `true`)+`
		SELECT count(*) FROM erased`, before, nil, domain.System.Name, domain.ActionErase, limit).Scan(&n)
	return n, translate(err, "requests past retention")
}
