package postgres

import (
	"context"

	"github.com/loandesk/loandesk/internal/domain"
)

// AdminByEmail finds an admin account by its (lower-case) email.
func (db *DB) AdminByEmail(ctx context.Context, email string) (*domain.Admin, error) {
	var a domain.Admin
	err := db.pool.QueryRow(ctx, `SELECT id, email, password_hash, created_at FROM admins WHERE email = $1`, email).
		Scan(&a.ID, &a.Email, &a.PasswordHash, &a.CreatedAt)
	if err != nil {
		return nil, translate(err, "admin")
	}
	return &a, nil
}

// EnsureAdmin creates the admin if the email is new; an existing password is
// never overwritten by configuration.
func (db *DB) EnsureAdmin(ctx context.Context, email, passwordHash string) (bool, error) {
	tag, err := db.pool.Exec(ctx, `INSERT INTO admins (email, password_hash) VALUES ($1, $2) ON CONFLICT (email) DO NOTHING`, email, passwordHash)
	if err != nil {
		return false, translate(err, "admin")
	}
	return tag.RowsAffected() == 1, nil
}
