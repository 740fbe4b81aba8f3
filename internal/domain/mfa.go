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

// MFAStore keeps admins' TOTP secrets (sealed by Auth.MFAKey) and recovery
// codes (keyed hashes).
type MFAStore interface {
	// SetMFASecret stores a new, not yet confirmed secret for an enabled
	// admin without TOTP. Errors: ENOTFOUND (none such).
	SetMFASecret(ctx context.Context, adminID int64, sealed []byte) error
	// EnableMFA confirms the stored secret at TOTP step, keeps the recovery
	// codes' hashes, moves the session epoch on (the account's sessions
	// opened with its password alone end) and appends e, in one
	// transaction. Refused (ENOTFOUND) unless the account is enabled, has
	// a secret, no TOTP yet, and is still in epoch.
	EnableMFA(ctx context.Context, adminID, epoch, step int64, recovery [][]byte, e SecurityEvent) (newEpoch int64, err error)
	// UseMFAStep records that the admin's code for step was used; false if
	// that step or a later one was already (a code is good once).
	UseMFAStep(ctx context.Context, adminID, step int64) (bool, error)
	// UseRecoveryCode spends the code with this hash; false if the admin
	// has no such code (left). It returns how many are left.
	UseRecoveryCode(ctx context.Context, adminID int64, hash []byte) (ok bool, left int, err error)
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

// StartEnrolment makes a new TOTP secret for the session's admin, who has
// none confirmed, and stores it sealed until ConfirmEnrolment. Errors:
// ECONFLICT (TOTP is set up already: an operator resets it), EUNAUTHORIZED.
func (a *Auth) StartEnrolment(ctx context.Context, s Session) (Enrolment, error) {
	if s.MFA == MFAVerify {
		return Enrolment{}, Errorf(EFORBIDDEN, "give your authentication code first")
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
// full one (every other session of the account ends). Errors: EINVALID
// (the code), ERATELIMITED, ECONFLICT, EUNAUTHORIZED, EUNAVAILABLE.
func (a *Auth) ConfirmEnrolment(ctx context.Context, token string, s Session, code, client string) (MFADone, error) {
	if s.MFA == MFAVerify {
		return MFADone{}, Errorf(EFORBIDDEN, "give your authentication code first")
	}
	admin, err := a.mfaTurn(ctx, s)
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
	client = Pseudonym(a.PseudonymKey, "client", client)
	event := SecurityEvent{Kind: EventMFAEnrolled, AdminID: &admin.ID, Client: client}
	epoch, err := a.MFA.EnableMFA(ctx, admin.ID, s.Epoch, step, hashes, event)
	if ErrorCode(err) == ENOTFOUND {
		return MFADone{}, Errorf(EUNAUTHORIZED, "this session has ended; log in again")
	}
	if err != nil {
		return MFADone{}, err
	}
	s.Epoch = epoch
	done, err := a.finishStep(ctx, token, s, admin, client, s.MFA == MFAEnrol)
	done.RecoveryCodes = codes
	return done, err
}

// VerifyMFA is a login's second step: a code from the admin's app, or one
// of their recovery codes (each good once). Tries are limited like the
// password's (PerAccountAndAddress, per account, or per device for a
// browser the admin used before) and each wrong one is logged.
// Errors: EINVALID (the code), ERATELIMITED, EFORBIDDEN, EUNAUTHORIZED,
// EUNAVAILABLE.
func (a *Auth) VerifyMFA(ctx context.Context, token string, s Session, code, client string) (MFADone, error) {
	if s.MFA != MFAVerify {
		return MFADone{}, Errorf(EFORBIDDEN, "this session has no code to give")
	}
	code = strings.TrimSpace(code)
	if code == "" || len(code) > 64 {
		return MFADone{}, mfaCodeProblem("is required")
	}
	admin, err := a.mfaTurn(ctx, s)
	if err != nil {
		return MFADone{}, err
	}
	if admin.MFAEnrolledAt == nil {
		// Reset by an operator meanwhile: the epoch moved, so this ends.
		return MFADone{}, errPasswordChanged()
	}
	var left *int
	ok := false
	if isTOTPCode(code) {
		secret, err := a.openMFA(admin.ID, admin.MFASecret)
		if err != nil {
			return MFADone{}, err
		}
		if step, match := totpStep(string(secret), code, a.now()); match {
			if ok, err = a.MFA.UseMFAStep(ctx, admin.ID, step); err != nil {
				return MFADone{}, err
			}
		}
	} else {
		var n int
		if ok, n, err = a.MFA.UseRecoveryCode(ctx, admin.ID, a.recoveryHash(admin.ID, code)); err != nil {
			return MFADone{}, err
		}
		left = &n
	}
	client = Pseudonym(a.PseudonymKey, "client", client)
	if !ok {
		if err := a.logFailure(ctx, SecurityEvent{Kind: EventMFAFailed, AdminID: &admin.ID, Client: client}); err != nil {
			return MFADone{}, err
		}
		return MFADone{}, mfaCodeProblem("is not right, or was used already")
	}
	if left != nil && a.Log != nil {
		if err := a.Log.RecordSecurityEvent(ctx, SecurityEvent{Kind: EventRecoveryUsed, AdminID: &admin.ID, Client: client}); err != nil {
			return MFADone{}, err
		}
	}
	done, err := a.finishStep(ctx, token, s, admin, client, true)
	done.RecoveryLeft = left
	return done, err
}

// mfaTurn spends one try at a code under the account's (or the known
// device's) budget and reads the account, ending a session whose epoch
// moved on.
func (a *Auth) mfaTurn(ctx context.Context, s Session) (*Admin, error) {
	key := "mfa:acct:" + strconv.FormatInt(s.AdminID, 10)
	if s.Device != "" {
		key = "mfa:dev:" + s.Device
	}
	ok, wait, err := a.Limiter.Allow(ctx, key, a.Limits.PerAccountAndAddress)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, a.refuse(LimitMFA, "too many tries at the code; wait and try again", wait)
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

// finishStep replaces a step's session with a full one (and, after a
// login, records it and hands the browser its device cookie); client is
// the caller's pseudonym.
func (a *Auth) finishStep(ctx context.Context, token string, s Session, admin *Admin, client string, login bool) (MFADone, error) {
	_ = a.Sessions.DeleteSession(context.WithoutCancel(ctx), token) // best effort: its epoch or stage refuses it
	full := Session{AdminID: admin.ID, Email: admin.Email, CSRFToken: RandomToken(), CreatedAt: a.now().UTC(), Epoch: s.Epoch, TOTP: true}
	t, err := a.Sessions.CreateSession(ctx, full, a.SessionTTL)
	if err != nil {
		return MFADone{}, err
	}
	done := MFADone{LoggedIn: LoggedIn{Token: t, Session: full}}
	if !login {
		return done, nil
	}
	if a.Log != nil {
		if err := a.Log.RecordSecurityEvent(ctx, SecurityEvent{Kind: EventLoginOK, AdminID: &admin.ID, Client: client}); err != nil {
			_ = a.Sessions.DeleteSession(context.WithoutCancel(ctx), t)
			return MFADone{}, err
		}
	}
	var device []byte
	if s.Device != "" {
		device, _ = base64.RawURLEncoding.DecodeString(s.Device)
	}
	done.Device = a.issueDevice(admin.Email, device)
	return done, nil
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
	m := hmac.New(sha256.New, a.MFAKey)
	m.Write([]byte("loandesk recovery v1\x00" + strconv.FormatInt(adminID, 10) + "\x00" + code))
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
