package domain

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"time"
)

// The security log's kinds of event.
const (
	EventLoginOK       = "login_ok"
	EventLoginFailed   = "login_failed"
	EventLoginDisabled = "login_disabled"
	EventAdminAdded    = "admin_added"
	EventAdminDisabled = "admin_disabled"
	EventAdminEnabled  = "admin_enabled"
	EventUnlocked      = "account_unlocked"
	// An admin changed their password in the desk, or gave a wrong
	// current password trying to (a session in someone else's hands).
	EventPasswordChanged = "password_changed"
	EventPasswordFailed  = "password_change_failed"
)

// SecurityEvent is one line of the append-only security log: a login's
// outcome, an account given or taken away. It names no email and no
// address: Subject (an email that is no account's) and Client (the
// caller's address key) are keyed hashes that link events without
// revealing either.
type SecurityEvent struct {
	ID         int64     `json:"id"`
	At         time.Time `json:"at"`
	Kind       string    `json:"kind"`
	AdminID    *int64    `json:"admin_id"`
	AdminEmail string    `json:"admin_email"` // read back from the account, never stored in the event
	Subject    string    `json:"subject"`
	Client     string    `json:"client"`
}

// SecurityLog appends security events.
type SecurityLog interface {
	RecordSecurityEvent(ctx context.Context, e SecurityEvent) error
}

// Pseudonym is a keyed hash of a personal value (an email, an address),
// 22 characters: the same value gives the same pseudonym under one key.
func Pseudonym(key []byte, kind, value string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(kind))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}
