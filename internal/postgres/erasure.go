package postgres

import (
	"context"
	"errors"

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
		// The audit event's state is the request's (unchanged but for the
		// erasure), in the keys domain.LoanRequest.AuditState writes.
		return tx.QueryRow(ctx, `WITH erased AS (
				UPDATE loan_requests r SET full_name = '', email = '', document_number = '', fingerprint = '',
					erased_at = now(), updated_at = now()
				WHERE r.id IN (SELECT request_id FROM loan_documents WHERE suffix = $1) AND r.document_number = $1
				RETURNING r.id, r.idempotency_key, r.updated_at, jsonb_build_object('status', r.status, 'reason', r.reason,
					'score', r.score, 'decided_at', r.decided_at, 'decided_by', r.decided_by, 'deleted_at', r.deleted_at) AS state
			), comments AS (
				UPDATE audit_events SET comment = '' WHERE request_id IN (SELECT id FROM erased) AND comment <> ''
			), claims AS (
				DELETE FROM filing_claims WHERE idempotency_key IN (SELECT idempotency_key FROM erased)
			), trail AS (
				INSERT INTO audit_events (request_id, admin_id, actor, action, comment, before, after, created_at)
				SELECT id, $2, $3, $4, '', state, state, updated_at FROM erased
			), logged AS (
				INSERT INTO security_events (kind, admin_id, request_id) VALUES ($5, $2, $6)
			)
			SELECT count(*) FROM erased`, doc, actor.AdminID, actor.Name, domain.ActionErase, e.Kind, id).Scan(&n)
	})
	return n, translate(err, "request")
}
