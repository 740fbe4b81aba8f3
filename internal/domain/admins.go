package domain

import (
	"context"
	"crypto/rand"
	"net/mail"
	"strings"
)

// AccountStore keeps admin accounts for the operators' command
// (`loandesk admin`). Each change is recorded in the security log in the
// same transaction (EventAdminAdded, EventAdminDisabled, EventAdminEnabled).
type AccountStore interface {
	// AddAdmin errors: ECONFLICT.
	AddAdmin(ctx context.Context, email, passwordHash string) (*Admin, error)
	// SetAdminDisabled errors: ENOTFOUND.
	SetAdminDisabled(ctx context.Context, email string, disabled bool) (*Admin, error)
	ListAdmins(ctx context.Context) ([]Admin, error)
	// ResetMFA removes the account's TOTP and recovery codes and ends its
	// sessions (EventMFAReset). Errors: ENOTFOUND.
	ResetMFA(ctx context.Context, email string) (*Admin, error)
}

// Accounts are the operators' actions on admin accounts.
type Accounts struct {
	Store AccountStore
}

// Add creates an account for email. An empty password makes a random
// one, returned once: either is stored only as its hash.
// Errors: EINVALID, ECONFLICT.
func (a Accounts) Add(ctx context.Context, email, password string) (*Admin, string, error) {
	email, err := adminEmail(email)
	if err != nil {
		return nil, "", err
	}
	if password == "" {
		password = NewPassword()
	}
	if msg := passwordProblem(password); msg != "" {
		return nil, "", &Error{Code: EINVALID, Message: "the password " + msg, Fields: map[string]string{"password": msg}}
	}
	admin, err := a.Store.AddAdmin(ctx, email, HashPassword(password))
	if err != nil {
		return nil, "", err
	}
	return admin, password, nil
}

// Disable ends the account's sessions (on their next request) and refuses
// its logins; Enable undoes it. Errors: EINVALID, ENOTFOUND.
func (a Accounts) Disable(ctx context.Context, email string) (*Admin, error) {
	return a.setDisabled(ctx, email, true)
}

// Enable lets a disabled account log in again.
func (a Accounts) Enable(ctx context.Context, email string) (*Admin, error) {
	return a.setDisabled(ctx, email, false)
}

func (a Accounts) setDisabled(ctx context.Context, email string, disabled bool) (*Admin, error) {
	email, err := adminEmail(email)
	if err != nil {
		return nil, err
	}
	return a.Store.SetAdminDisabled(ctx, email, disabled)
}

// ResetMFA is for an admin who lost their authenticator and their recovery
// codes: their TOTP goes, their sessions end, and they set it up again at
// their next login (where it is required). Errors: EINVALID, ENOTFOUND.
func (a Accounts) ResetMFA(ctx context.Context, email string) (*Admin, error) {
	email, err := adminEmail(email)
	if err != nil {
		return nil, err
	}
	return a.Store.ResetMFA(ctx, email)
}

// List returns every account.
func (a Accounts) List(ctx context.Context) ([]Admin, error) { return a.Store.ListAdmins(ctx) }

// adminEmail normalizes an account's email, as Login does, and refuses
// what is not one address. Errors: EINVALID.
func adminEmail(s string) (string, error) {
	email := strings.ToLower(strings.TrimSpace(s))
	if len(email) > 254 {
		return "", &Error{Code: EINVALID, Message: "the email is longer than 254 characters", Fields: map[string]string{"email": "is too long"}}
	}
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email || a.Name != "" {
		return "", &Error{Code: EINVALID, Message: "not an email address: " + strings.ToValidUTF8(s, "?"), Fields: map[string]string{"email": "is not an email address"}}
	}
	return email, nil
}

// NewPassword returns 128 random bits as 26 characters (crypto/rand.Text:
// letters and digits without look-alikes), to be read once and kept in a
// password manager.
func NewPassword() string { return rand.Text() }
