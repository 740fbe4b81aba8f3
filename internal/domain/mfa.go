package domain

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"image/png"
	"strconv"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// A session's second step (Session.MFA): "" once the admin is fully logged
// in; MFAVerify after the password of an account with TOTP, until its code
// is given; MFAEnrol after the password of an account without TOTP where
// it is required, until it is set up. Such a session reaches its own step
// and nothing else (the API's requireAdmin).
const (
	MFAVerify = "verify"
	MFAEnrol  = "enrol"
)

// DefaultMFAStepTTL is how long a session waits for its second step.
const DefaultMFAStepTTL = 10 * time.Minute

// RecoveryCodes is how many one-time recovery codes an enrolment makes.
const RecoveryCodes = 10

// The TOTP parameters every authenticator app reads from a QR code: six
// digits, 30 s, SHA-1 (RFC 6238's defaults); one step of clock skew either
// way is accepted.
var totpOpts = totp.ValidateOpts{Period: 30, Skew: 1, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// Lines are the security log's lines a store appends in the statement
// that makes its change, so that neither is ever without the other: one
// per kind, in order, naming the account, from Client (a pseudonym).
type Lines struct {
	Kinds  []string
	Client string
}

// MFAStore keeps admins' TOTP secrets (sealed by Auth.MFAKey) and recovery
// codes (keyed hashes).
type MFAStore interface {
	// SetMFASecret stores a new, not yet confirmed secret for an enabled
	// admin without TOTP. Errors: ENOTFOUND (none such).
	SetMFASecret(ctx context.Context, adminID int64, sealed []byte) error
	// EnableMFA confirms the stored secret at TOTP step, keeps the recovery
	// codes' hashes, moves the session epoch on by one (the account's
	// sessions opened with its password alone end) and appends log, in one
	// statement. Refused (ENOTFOUND) unless the account is enabled, has a
	// secret, no TOTP yet, and is still in epoch.
	EnableMFA(ctx context.Context, adminID, epoch, step int64, recovery [][]byte, log Lines) (newEpoch int64, err error)
	// UseMFAStep records that the admin's code for step was used, with log;
	// false (and nothing logged) if that step or a later one was already:
	// a code is good once.
	UseMFAStep(ctx context.Context, adminID, step int64, log Lines) (bool, error)
	// UseRecoveryCode spends the code with this hash, with log; false if
	// the admin has no such code (left). It returns how many are left.
	UseRecoveryCode(ctx context.Context, adminID int64, hash []byte, log Lines) (ok bool, left int, err error)
}

// Enrolment is a new TOTP secret for an admin to add to their app.
type Enrolment struct {
	Secret string // base32, for typing in
	URL    string // otpauth://, what the QR code holds
	QRPNG  []byte
}

// MFADone is a finished second step: the full session that replaces the
// step's, and what else the admin must see once.
type MFADone struct {
	LoggedIn
	// RecoveryCodes, after an enrolment: shown once, kept only hashed.
	RecoveryCodes []string
	// RecoveryLeft, after a login with a recovery code: how many remain.
	RecoveryLeft *int
}

// mfaCodeProblem is the answer to a missing or wrong code: the field named,
// nothing said about which of TOTP or recovery code was tried.
func mfaCodeProblem(msg string) error {
	return &Error{Code: EINVALID, Message: "the code " + msg, Fields: map[string]string{"code": msg}}
}

// mfaCode trims a typed code and refuses an empty or oversized one.
func mfaCode(code string) (string, error) {
	code = strings.TrimSpace(code)
	if code == "" || len(code) > 64 {
		return "", mfaCodeProblem("is required")
	}
	return code, nil
}

// StartEnrolment makes a new TOTP secret for the session's admin, who has
// none confirmed, and stores it sealed until ConfirmEnrolment (each call
// replaces it; PerAccountAndAddress bounds them). Errors: ECONFLICT (TOTP
// is set up already: an operator resets it), ERATELIMITED, EFORBIDDEN.
func (a *Auth) StartEnrolment(ctx context.Context, s Session) (Enrolment, error) {
	if s.MFA == MFAVerify {
		return Enrolment{}, Errorf(EFORBIDDEN, "give your authentication code first")
	}
	ok, wait, err := a.Limiter.Allow(ctx, "enrol:"+strconv.FormatInt(s.AdminID, 10), a.Limits.PerAccountAndAddress)
	if err != nil {
		return Enrolment{}, err
	}
	if !ok {
		return Enrolment{}, a.refuse(LimitMFA, "too many set-ups begun; wait and try again", wait)
	}
	admin, err := a.Admins.AdminByID(ctx, s.AdminID)
	if err != nil {
		return Enrolment{}, err
	}
	if admin.MFAEnrolledAt != nil {
		return Enrolment{}, Errorf(ECONFLICT, "two-step login is set up already; an operator can reset it (loandesk admin reset-mfa)")
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: "LoanDesk", AccountName: admin.Email, Period: totpOpts.Period,
		Digits: totpOpts.Digits, Algorithm: totpOpts.Algorithm, SecretSize: 20})
	if err != nil {
		return Enrolment{}, err
	}
	sealed, err := a.sealMFA(admin.ID, []byte(key.Secret()))
	if err != nil {
		return Enrolment{}, err
	}
	if err := a.MFA.SetMFASecret(ctx, admin.ID, sealed); err != nil {
		if ErrorCode(err) == ENOTFOUND {
			return Enrolment{}, Errorf(ECONFLICT, "two-step login is set up already, or this account was disabled")
		}
		return Enrolment{}, err
	}
	img, err := key.Image(240, 240)
	if err != nil {
		return Enrolment{}, err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return Enrolment{}, err
	}
	return Enrolment{Secret: key.Secret(), URL: key.URL(), QRPNG: buf.Bytes()}, nil
}

// ConfirmEnrolment checks a code from the app against the stored secret,
// turns TOTP on, makes the recovery codes and replaces the session with a
// full one (every other session of the account ends). The new session is
// opened first and TOTP turned on in one statement with its log lines
// (and the login's, at the enrolment step): once TOTP is on, nothing can
// fail before the recovery codes are in the answer. A wrong code is a
// typo of someone who holds the secret, not a guess: limited, not logged.
// Errors: EINVALID (the code), ERATELIMITED, ECONFLICT, EUNAUTHORIZED,
// EUNAVAILABLE.
func (a *Auth) ConfirmEnrolment(ctx context.Context, token string, s Session, code, client string) (MFADone, error) {
	if s.MFA == MFAVerify {
		return MFADone{}, Errorf(EFORBIDDEN, "give your authentication code first")
	}
	code, admin, err := a.codeTurn(ctx, s, code)
	if err != nil {
		return MFADone{}, err
	}
	if admin.MFAEnrolledAt != nil || admin.MFASecret == nil {
		return MFADone{}, Errorf(ECONFLICT, "start the set-up again")
	}
	secret, err := a.openMFA(admin.ID, admin.MFASecret)
	if err != nil {
		return MFADone{}, err
	}
	step, ok := totpStep(string(secret), code, a.now())
	if !ok {
		return MFADone{}, mfaCodeProblem("is not the one your app shows now")
	}
	codes := make([]string, RecoveryCodes)
	hashes := make([][]byte, RecoveryCodes)
	for i := range codes {
		codes[i] = newRecoveryCode()
		hashes[i] = a.recoveryHash(admin.ID, codes[i])
	}
	login := s.MFA == MFAEnrol
	full, err := a.openFull(ctx, admin, s.Epoch+1) // EnableMFA moves the epoch on by one
	if err != nil {
		return MFADone{}, err
	}
	lines := Lines{Kinds: []string{EventMFAEnrolled}, Client: Pseudonym(a.PseudonymKey, "client", client)}
	if login {
		lines.Kinds = append(lines.Kinds, EventLoginOK)
	}
	if _, err := a.MFA.EnableMFA(ctx, admin.ID, s.Epoch, step, hashes, lines); err != nil {
		_ = a.Sessions.DeleteSession(context.WithoutCancel(ctx), full.Token)
		if ErrorCode(err) == ENOTFOUND {
			return MFADone{}, Errorf(EUNAUTHORIZED, "this session has ended; log in again")
		}
		return MFADone{}, err
	}
	return a.stepDone(ctx, token, full, s, login, codes, nil), nil
}

// VerifyMFA is a login's second step: a code from the admin's app, or one
// of their recovery codes (each good once). Tries are limited like the
// password's (PerAccountAndAddress, per account, or per device for a
// browser the admin used before), and from unknown browsers MFAPerDay
// too; each wrong one is logged. The full session is opened first and the
// code spent in one statement with the login's log line. Errors: EINVALID
// (the code), ERATELIMITED, EFORBIDDEN, EUNAUTHORIZED, EUNAVAILABLE.
func (a *Auth) VerifyMFA(ctx context.Context, token string, s Session, code, client string) (MFADone, error) {
	if s.MFA != MFAVerify {
		return MFADone{}, Errorf(EFORBIDDEN, "this session has no code to give")
	}
	code, admin, err := a.codeTurn(ctx, s, code)
	if err != nil {
		return MFADone{}, err
	}
	if admin.MFAEnrolledAt == nil {
		// Reset by an operator meanwhile: the epoch moved, so this ends.
		return MFADone{}, errPasswordChanged()
	}
	client = Pseudonym(a.PseudonymKey, "client", client)
	step, match := int64(0), false
	if isTOTPCode(code) {
		secret, err := a.openMFA(admin.ID, admin.MFASecret)
		if err != nil {
			return MFADone{}, err
		}
		step, match = totpStep(string(secret), code, a.now())
	}
	var left *int
	ok := false
	if match || !isTOTPCode(code) {
		full, err := a.openFull(ctx, admin, s.Epoch)
		if err != nil {
			return MFADone{}, err
		}
		if match {
			ok, err = a.MFA.UseMFAStep(ctx, admin.ID, step, Lines{Kinds: []string{EventLoginOK}, Client: client})
		} else {
			var n int
			ok, n, err = a.MFA.UseRecoveryCode(ctx, admin.ID, a.recoveryHash(admin.ID, code),
				Lines{Kinds: []string{EventRecoveryUsed, EventLoginOK}, Client: client})
			left = &n
		}
		if err == nil && ok {
			done := a.stepDone(ctx, token, full, s, true, nil, left)
			return done, nil
		}
		_ = a.Sessions.DeleteSession(context.WithoutCancel(ctx), full.Token)
		if err != nil {
			return MFADone{}, err
		}
	}
	if err := a.logFailure(ctx, SecurityEvent{Kind: EventMFAFailed, AdminID: &admin.ID, Client: client}); err != nil {
		return MFADone{}, err
	}
	return MFADone{}, mfaCodeProblem("is not right, or was used already")
}

// codeTurn trims a typed code, refuses an empty or oversized one, and
// spends its try (mfaTurn).
func (a *Auth) codeTurn(ctx context.Context, s Session, code string) (string, *Admin, error) {
	code, err := mfaCode(code)
	if err != nil {
		return "", nil, err
	}
	admin, err := a.mfaTurn(ctx, s)
	return code, admin, err
}

// mfaTurn spends one try at a code under the account's budgets (or the
// known device's) and reads the account, ending a session whose epoch
// moved on.
func (a *Auth) mfaTurn(ctx context.Context, s Session) (*Admin, error) {
	id := strconv.FormatInt(s.AdminID, 10)
	budgets := []struct {
		key  string
		rate Rate
	}{{"mfa:acct:" + id, a.Limits.PerAccountAndAddress}, {"mfa:day:" + id, a.Limits.MFAPerDay}}
	if s.Device != "" {
		budgets = budgets[:1]
		budgets[0].key = "mfa:dev:" + s.Device
	}
	for _, b := range budgets {
		if b.rate.Off() {
			continue
		}
		ok, wait, err := a.Limiter.Allow(ctx, b.key, b.rate)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, a.refuse(LimitMFA, "too many tries at the code; wait and try again, or use a browser you logged in with before", wait)
		}
	}
	admin, err := a.Admins.AdminByID(ctx, s.AdminID)
	if ErrorCode(err) == ENOTFOUND || err == nil && admin.DisabledAt != nil {
		return nil, Errorf(EUNAUTHORIZED, "this account is disabled; ask another admin")
	}
	if err != nil {
		return nil, err
	}
	if admin.SessionEpoch != s.Epoch {
		return nil, errPasswordChanged()
	}
	return admin, nil
}

// openFull opens the full session a second step ends in, in epoch.
func (a *Auth) openFull(ctx context.Context, admin *Admin, epoch int64) (LoggedIn, error) {
	full := Session{AdminID: admin.ID, Email: admin.Email, CSRFToken: RandomToken(), CreatedAt: a.now().UTC(), Epoch: epoch, TOTP: true}
	t, err := a.Sessions.CreateSession(ctx, full, a.SessionTTL)
	if err != nil {
		return LoggedIn{}, err
	}
	return LoggedIn{Token: t, Session: full}, nil
}

// stepDone ends the step's session (best effort: its stage or epoch
// refuses it anyway) and, after a login, issues the device cookie.
func (a *Auth) stepDone(ctx context.Context, token string, full LoggedIn, s Session, login bool, codes []string, left *int) MFADone {
	_ = a.Sessions.DeleteSession(context.WithoutCancel(ctx), token)
	if login {
		var device []byte
		if s.Device != "" {
			device, _ = base64.RawURLEncoding.DecodeString(s.Device)
		}
		full.Device = a.issueDevice(full.Session.Email, device)
	}
	return MFADone{LoggedIn: full, RecoveryCodes: codes, RecoveryLeft: left}
}

// totpStep finds the step (within the skew) whose code is code.
func totpStep(secret, code string, now time.Time) (int64, bool) {
	if !isTOTPCode(code) {
		return 0, false
	}
	opts := totpOpts
	for skew := -int64(opts.Skew); skew <= int64(opts.Skew); skew++ {
		t := now.Add(time.Duration(skew*int64(opts.Period)) * time.Second)
		want, err := totp.GenerateCodeCustom(secret, t, opts)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return t.Unix() / int64(opts.Period), true
		}
	}
	return 0, false
}

func isTOTPCode(s string) bool {
	if len(s) != 6 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// A recovery code: 10 characters of RFC 4648 base32 (50 bits), shown as
// two groups of five; typed in any case, with or without the dash.
var recoveryEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

func newRecoveryCode() string {
	b := make([]byte, 10)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	s := strings.ToLower(recoveryEncoding.EncodeToString(b))[:10]
	return s[:5] + "-" + s[5:]
}

// recoveryHash keys a recovery code to its account with MFAKey: a copy of
// the table alone does not let anyone try codes offline.
func (a *Auth) recoveryHash(adminID int64, code string) []byte {
	code = strings.ToLower(strings.NewReplacer("-", "", " ", "").Replace(strings.TrimSpace(code)))
	// A key of its own, derived from MFAKey (which seals the secrets).
	k := hmac.New(sha256.New, a.MFAKey)
	k.Write([]byte("loandesk recovery codes v1"))
	m := hmac.New(sha256.New, k.Sum(nil))
	m.Write([]byte(strconv.FormatInt(adminID, 10) + "\x00" + code))
	return m.Sum(nil)
}

// sealMFA encrypts a TOTP secret with AES-256-GCM under MFAKey, bound to
// its account (a sealed secret copied to another account does not open).
func (a *Auth) sealMFA(adminID int64, secret []byte) ([]byte, error) {
	aead, err := a.mfaAEAD()
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return aead.Seal(nonce, nonce, secret, mfaAAD(adminID)), nil
}

func (a *Auth) openMFA(adminID int64, sealed []byte) ([]byte, error) {
	aead, err := a.mfaAEAD()
	if err != nil {
		return nil, err
	}
	if len(sealed) < aead.NonceSize() {
		return nil, Errorf(EINTERNAL, "sealed TOTP secret too short")
	}
	secret, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], mfaAAD(adminID))
	if err != nil {
		// Another MFA key (SESSION_KEY rotated): `loandesk admin reset-mfa`.
		return nil, Errorf(EINTERNAL, "cannot open the account's TOTP secret: was the key changed?")
	}
	return secret, nil
}

func (a *Auth) mfaAEAD() (cipher.AEAD, error) {
	if len(a.MFAKey) != 32 {
		return nil, Errorf(EINTERNAL, "MFAKey must be 32 bytes")
	}
	block, err := aes.NewCipher(a.MFAKey)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func mfaAAD(adminID int64) []byte {
	return []byte("loandesk totp v1\x00" + strconv.FormatInt(adminID, 10))
}
