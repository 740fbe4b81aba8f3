package domain

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"math"
	"strconv"
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
	// An admin was shown a request's personal data (RequestID), or a page
	// of the list (Detail: the search's kind, SearchKind, or "").
	EventRequestViewed  = "request_viewed"
	EventRequestsListed = "requests_listed"
	// An admin erased an applicant's personal data (RequestID: the request
	// it was asked from; the log names no document number).
	EventApplicantErased = "applicant_erased"
	// An admin changed a request's status, deleted it, restored it
	// (RequestID); written with the change, in its transaction.
	EventStatusChanged   = "request_status_changed"
	EventRequestDeleted  = "request_deleted"
	EventRequestRestored = "request_restored"
	// The right password of an account with TOTP (or where it is
	// required): the second step was asked for.
	EventMFAAsked = "mfa_asked"
	// An admin set up TOTP; gave a wrong code at a login's second step;
	// logged in with a recovery code; an operator reset an admin's TOTP.
	EventMFAEnrolled  = "mfa_enrolled"
	EventMFAFailed    = "mfa_failed"
	EventRecoveryUsed = "mfa_recovery_used"
	EventMFAReset     = "mfa_reset"
)

// ActionEvent is the security log's kind for an admin's action on a
// request (an Action*), or "" for one it does not itemize (the worker's
// decisions name no admin; an erasure is logged by its own statement).
func ActionEvent(action string) string {
	return map[string]string{ActionStatus: EventStatusChanged, ActionDelete: EventRequestDeleted, ActionRestore: EventRequestRestored}[action]
}

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
	RequestID  *int64    `json:"request_id"`
	Detail     string    `json:"detail"` // a closed set: the search kinds
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

// AuditFilter selects security events, newest first.
type AuditFilter struct {
	AdminID   int64     // 0: every admin's
	RequestID int64     // 0: about any request or none
	From, To  time.Time // [From, To); zero: unbounded
	Before    int64     // an event id: the page after it (0: from the newest)
	Limit     int
}

// AuditStore reads the security log.
type AuditStore interface {
	SecurityEvents(ctx context.Context, f AuditFilter) ([]SecurityEvent, error)
	// AdminByEmail errors: ENOTFOUND.
	AdminByEmail(ctx context.Context, email string) (*Admin, error)
}

// AuditQuery is the audit's query string as sent: an admin's email, a
// request's id, a day (YYYY-MM-DD, UTC), a cursor and a page size.
type AuditQuery struct {
	Admin, Request, Day, Cursor, Limit string
}

// AuditPage is one page of the security log, newest first; NextCursor
// reads on (nil on the last page).
type AuditPage struct {
	Items      []SecurityEvent `json:"items"`
	NextCursor *string         `json:"next_cursor"`
}

// AuditLog is the security log as the desk shows it to admins.
type AuditLog struct {
	Store AuditStore
}

// Page reads one page of the log under q's filters, naming every bad
// parameter at once. Errors: EINVALID, EUNAVAILABLE.
func (a AuditLog) Page(ctx context.Context, q AuditQuery) (AuditPage, error) {
	problems := map[string]string{}
	f := AuditFilter{Limit: DefaultPageSize}
	number := func(name, v string, max int64) int64 {
		if v == "" {
			return 0
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 || n > max {
			problems[name] = fmt.Sprintf("must be a whole number from 1 to %d", max)
		}
		return n
	}
	f.RequestID = number("request", q.Request, math.MaxInt64)
	f.Before = number("cursor", q.Cursor, math.MaxInt64)
	if q.Limit != "" {
		f.Limit = int(number("limit", q.Limit, MaxPageSize))
	}
	if q.Day != "" {
		day, err := time.Parse(time.DateOnly, q.Day)
		if err != nil {
			problems["day"] = "must be a date (YYYY-MM-DD)"
		}
		f.From, f.To = day, day.AddDate(0, 0, 1)
	}
	if q.Admin != "" {
		email, err := adminEmail(q.Admin)
		if err == nil {
			var admin *Admin
			if admin, err = a.Store.AdminByEmail(ctx, email); err == nil {
				f.AdminID = admin.ID
			}
		}
		switch {
		case ErrorCode(err) == EINVALID || ErrorCode(err) == ENOTFOUND:
			problems["admin"] = "is no admin's email"
		case err != nil:
			return AuditPage{}, err
		}
	}
	if len(problems) > 0 {
		return AuditPage{}, &Error{Code: EINVALID, Message: "the audit filter has invalid fields", Fields: problems}
	}
	// One more than the page: whether another follows, without a count.
	want := f.Limit
	f.Limit++
	events, err := a.Store.SecurityEvents(ctx, f)
	if err != nil {
		return AuditPage{}, err
	}
	page := AuditPage{Items: events}
	if len(events) > want {
		page.Items = events[:want]
		next := strconv.FormatInt(events[want-1].ID, 10)
		page.NextCursor = &next
	}
	return page, nil
}
