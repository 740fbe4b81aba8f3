package domain

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/mail"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Gender as the identity registry records it: F, M or X (non-binary, as on
// Argentine documents since 2021).
type Gender string

const (
	GenderF Gender = "F"
	GenderM Gender = "M"
	GenderX Gender = "X"
)

// Status of a loan request.
type Status string

const (
	StatusInReview Status = "in_review"
	StatusApproved Status = "approved"
	StatusRejected Status = "rejected"
)

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	return s == StatusInReview || s == StatusApproved || s == StatusRejected
}

// Reason says why a request has its status.
type Reason string

const (
	ReasonNone     Reason = ""         // in review, waiting for the external services
	ReasonIdentity Reason = "identity" // the identity service says the document is not this person's
	ReasonScore    Reason = "score"    // the scoring service decided
	ReasonManual   Reason = "manual"   // an admin decided, or a person must decide
)

// Amount limits, in whole pesos.
const (
	MinAmount = 10_000
	MaxAmount = 5_000_000
)

// Application is what an applicant files.
type Application struct {
	FullName       string `json:"full_name"`
	Email          string `json:"email"`
	DocumentNumber string `json:"document_number"`
	Gender         Gender `json:"gender"`
	Amount         int64  `json:"amount"`
}

// Normalize trims and canonicalizes the fields in place, so that validation,
// fingerprints and storage all see one spelling ("12.345.678" == "12345678").
func (a *Application) Normalize() {
	a.FullName = strings.Join(strings.Fields(a.FullName), " ")
	a.Email = strings.ToLower(strings.TrimSpace(a.Email))
	a.DocumentNumber = strings.NewReplacer(".", "", " ", "", "-", "").Replace(strings.TrimSpace(a.DocumentNumber))
	a.Gender = Gender(strings.ToUpper(strings.TrimSpace(string(a.Gender))))
}

// Validate checks every field and returns an EINVALID *Error naming each bad
// one, or nil. Messages are short English sentences; the SPA shows its own
// translated text keyed by field.
func (a Application) Validate() error {
	problems := map[string]string{}
	if msg := validateName(a.FullName); msg != "" {
		problems["full_name"] = msg
	}
	if msg := validateEmail(a.Email); msg != "" {
		problems["email"] = msg
	}
	if !isDNI(a.DocumentNumber) {
		problems["document_number"] = "must be 7 or 8 digits"
	}
	switch a.Gender {
	case GenderF, GenderM, GenderX:
	default:
		problems["gender"] = "must be F, M or X"
	}
	if a.Amount < MinAmount || a.Amount > MaxAmount {
		problems["amount"] = "must be a whole number of pesos from " + strconv.Itoa(MinAmount) + " to " + strconv.Itoa(MaxAmount)
	}
	if len(problems) > 0 {
		return &Error{Code: EINVALID, Message: "the request has invalid fields", Fields: problems}
	}
	return nil
}

func validateName(s string) string {
	if !utf8.ValidString(s) {
		return "must be valid text"
	}
	n := utf8.RuneCountInString(s)
	if n < 2 || n > 120 {
		return "must be 2 to 120 characters"
	}
	letters := 0
	for _, r := range s {
		// Names are shown back to admins; they may hold any printable text
		// (the UI renders it as text), but never control or formatting
		// characters that could disguise what is displayed.
		if !unicode.IsPrint(r) || unicode.Is(unicode.Cf, r) {
			return "must not contain control characters"
		}
		if unicode.IsLetter(r) {
			letters++
		}
	}
	if letters < 2 {
		return "must contain letters"
	}
	return ""
}

func validateEmail(s string) string {
	if s == "" {
		return "is required"
	}
	if len(s) > 254 || !utf8.ValidString(s) {
		return "is not a valid email address"
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Address != s || addr.Name != "" {
		return "is not a valid email address"
	}
	at := strings.LastIndexByte(s, '@')
	domain := s[at+1:]
	if !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") {
		return "is not a valid email address"
	}
	for _, r := range s {
		if r > unicode.MaxASCII || unicode.IsSpace(r) || unicode.IsControl(r) {
			return "is not a valid email address"
		}
	}
	return ""
}

func isDNI(s string) bool {
	if len(s) < 7 || len(s) > 8 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Fingerprint identifies the content of an application, to tell a retry of
// the same submission from a different one reusing an Idempotency-Key.
func (a Application) Fingerprint() string {
	h := sha256.New()
	for _, s := range []string{a.FullName, a.Email, a.DocumentNumber, string(a.Gender), strconv.FormatInt(a.Amount, 10)} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// LoanRequest is a filed application and what became of it.
type LoanRequest struct {
	ID           int64
	TrackingCode string
	Application
	Status         Status
	Reason         Reason
	Score          *int
	IdempotencyKey string
	Fingerprint    string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	DecidedAt      *time.Time
	DecidedBy      string
	DeletedAt      *time.Time
	// ErasedAt, when set, is when the applicant's name, email and document
	// number were erased (Desk.EraseApplicant): they are empty since.
	ErasedAt *time.Time
}

// Deleted reports whether an admin soft-deleted the request.
func (l *LoanRequest) Deleted() bool { return l.DeletedAt != nil }

// Undecided reports whether the request still waits for an automatic decision.
func (l *LoanRequest) Undecided() bool {
	return l.Status == StatusInReview && l.DecidedAt == nil && l.Reason == ReasonNone
}

// ApplyDecision records an automatic decision. It refuses (ECONFLICT) when
// the request was already decided, so that a decision is never taken twice.
// A deleted request is decided too: deleting hides it, and a restore must
// find it decided rather than waiting for a job that already ran.
func (l *LoanRequest) ApplyDecision(d Decision, now time.Time) error {
	if !l.Undecided() {
		return Errorf(ECONFLICT, "request %s is already decided", l.TrackingCode)
	}
	l.Status, l.Reason, l.Score = d.Status, d.Reason, d.Score
	if d.Status != StatusInReview {
		t := now
		l.DecidedAt = &t
	}
	l.DecidedBy = "system"
	l.UpdatedAt = now
	return nil
}

// MaxCommentLength bounds admin comments.
const MaxCommentLength = 1000

// SetStatus is an admin's decision. A comment is mandatory.
func (l *LoanRequest) SetStatus(s Status, comment, admin string, now time.Time) error {
	problems := map[string]string{}
	if !s.Valid() {
		problems["status"] = "must be in_review, approved or rejected"
	}
	if c := strings.TrimSpace(comment); c == "" {
		problems["comment"] = "is required"
	} else if utf8.RuneCountInString(c) > MaxCommentLength || !utf8.ValidString(c) {
		problems["comment"] = "must be valid text of at most 1000 characters"
	}
	if len(problems) > 0 {
		return &Error{Code: EINVALID, Message: "the status change has invalid fields", Fields: problems}
	}
	if l.Deleted() {
		return Errorf(ECONFLICT, "request %s is deleted; restore it first", l.TrackingCode)
	}
	if l.Status == s {
		return Errorf(ECONFLICT, "request %s is already %s", l.TrackingCode, s)
	}
	l.Status, l.Reason = s, ReasonManual
	if s == StatusInReview {
		l.DecidedAt = nil
	} else {
		t := now
		l.DecidedAt = &t
	}
	l.DecidedBy = admin
	l.UpdatedAt = now
	return nil
}

// Delete soft-deletes the request.
func (l *LoanRequest) Delete(now time.Time) error {
	if l.Deleted() {
		return Errorf(ECONFLICT, "request %s is already deleted", l.TrackingCode)
	}
	t := now
	l.DeletedAt, l.UpdatedAt = &t, now
	return nil
}

// Restore undoes a soft delete.
func (l *LoanRequest) Restore(now time.Time) error {
	if !l.Deleted() {
		return Errorf(ECONFLICT, "request %s is not deleted", l.TrackingCode)
	}
	l.DeletedAt, l.UpdatedAt = nil, now
	return nil
}

// Receipt is what an applicant is told about a request: no personal data.
type Receipt struct {
	TrackingCode string     `json:"tracking_code"`
	Status       Status     `json:"status"`
	Reason       Reason     `json:"reason,omitempty"`
	Amount       int64      `json:"amount"`
	CreatedAt    time.Time  `json:"created_at"`
	DecidedAt    *time.Time `json:"decided_at,omitempty"`
}

// Receipt returns the public view of the request.
func (l *LoanRequest) Receipt() Receipt {
	r := Receipt{TrackingCode: l.TrackingCode, Status: l.Status, Reason: l.Reason, Amount: l.Amount, CreatedAt: l.CreatedAt, DecidedAt: l.DecidedAt}
	if l.Status == StatusInReview {
		// "manual" on an undecided request is internal triage, not news for the applicant.
		r.Reason = ReasonNone
	}
	return r
}

// trackingAlphabet is Crockford's base32: no I, L, O, U, so codes read aloud well.
const trackingAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// NewTrackingCode returns a random, unguessable code such as "LD-7K2M9QX4TB"
// (50 random bits).
func NewTrackingCode() string {
	var b [10]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	out := make([]byte, 0, 13)
	out = append(out, "LD-"...)
	for _, c := range b {
		out = append(out, trackingAlphabet[int(c)%32])
	}
	return string(out)
}

// ValidTrackingCode reports whether s has the shape of a tracking code.
func ValidTrackingCode(s string) bool {
	if len(s) != 13 || !strings.HasPrefix(s, "LD-") {
		return false
	}
	for i := 3; i < len(s); i++ {
		if !strings.ContainsRune(trackingAlphabet, rune(s[i])) {
			return false
		}
	}
	return true
}

// ValidIdempotencyKey accepts 8 to 128 characters of [A-Za-z0-9_-] (UUIDs fit).
func ValidIdempotencyKey(s string) bool {
	if len(s) < 8 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// AuditState is the part of a request whose changes the audit trail
// records, before and after each change: its decision and its deletion,
// never the applicant's personal data.
func (l *LoanRequest) AuditState() map[string]any {
	return map[string]any{
		"status": l.Status, "reason": l.Reason, "score": l.Score,
		"decided_at": l.DecidedAt, "decided_by": l.DecidedBy, "deleted_at": l.DeletedAt,
	}
}
