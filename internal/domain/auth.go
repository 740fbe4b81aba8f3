package domain

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
	"golang.org/x/sync/semaphore"
)

// Admin is a person who reviews requests.
type Admin struct {
	ID           int64
	Email        string
	PasswordHash string
	CreatedAt    time.Time
	// DisabledAt, when set, ends the admin's sessions and refuses logins.
	DisabledAt *time.Time
	// SessionEpoch moves on when the password changes: sessions opened in
	// an earlier epoch end.
	SessionEpoch int64
	// MFASecret is the TOTP secret, sealed (Auth.sealMFA): confirmed when
	// MFAEnrolledAt is set, waiting for its first code otherwise.
	MFASecret     []byte
	MFAEnrolledAt *time.Time
}

// Session is a logged-in admin. The CSRF token must accompany every
// state-changing request made with the session cookie.
type Session struct {
	AdminID   int64     `json:"admin_id"`
	Email     string    `json:"email"`
	CSRFToken string    `json:"csrf_token"`
	CreatedAt time.Time `json:"created_at"`
	// Epoch is the account's SessionEpoch when the session was opened.
	Epoch int64 `json:"epoch"`
	// MFA is the login's second step still to do (MFAVerify, MFAEnrol), or
	// "" for a full session.
	MFA string `json:"mfa,omitempty"`
	// Device is the known device a step's login came from (base64), for
	// the step's limits and the device cookie that follows it.
	Device string `json:"device,omitempty"`
	// TOTP says the account had TOTP when the session opened (enabling or
	// resetting it moves the epoch on, so it stays true for the session).
	TOTP bool `json:"totp,omitempty"`
}

// Actor returns the session's admin as an audit actor.
func (s Session) Actor() Actor {
	id := s.AdminID
	return Actor{AdminID: &id, Name: s.Email}
}

// AdminStore keeps admin accounts.
type AdminStore interface {
	// AdminByEmail errors: ENOTFOUND.
	AdminByEmail(ctx context.Context, email string) (*Admin, error)
	// AdminByID errors: ENOTFOUND.
	AdminByID(ctx context.Context, id int64) (*Admin, error)
	// EnsureAdmin creates the admin while no admin exists (the first
	// start); it never changes an existing account.
	EnsureAdmin(ctx context.Context, email, passwordHash string) (created bool, err error)
	// SetPassword stores an enabled admin's new password hash, moves the
	// account's SessionEpoch on and appends e to the security log, in one
	// transaction; it returns the new epoch. Errors: ENOTFOUND.
	// The change is refused (ENOTFOUND) unless the account is still in
	// epoch, the asking session's: of two changes racing, one wins.
	SetPassword(ctx context.Context, adminID int64, passwordHash string, epoch int64, e SecurityEvent) (newEpoch int64, err error)
}

// SessionStore keeps sessions; tokens are opaque to the domain.
type SessionStore interface {
	CreateSession(ctx context.Context, s Session, ttl time.Duration) (token string, err error)
	// Session errors: EUNAUTHORIZED (unknown or expired token).
	Session(ctx context.Context, token string) (Session, error)
	DeleteSession(ctx context.Context, token string) error
}

// LoginLimits bound password guessing. Every attempt is counted before its
// password is checked, so a flood of concurrent guesses cannot slip past a
// limit while the hashes run.
type LoginLimits struct {
	// PerAccountAndAddress is strict: an address that guesses one account
	// too often is refused (429) for that account.
	PerAccountAndAddress Rate
	// PerAddress is strict too: one address trying many accounts.
	PerAddress Rate
	// PerAccount caps an account's attempts from devices it does not know,
	// from every address together (OWASP ASVS 2.2.1: at most 100 failed
	// attempts an hour). A spent budget refuses nobody at once: an attempt
	// waits up to SlowWait for the next turn, then gets 429.
	PerAccount Rate
	SlowWait   time.Duration
	// PerDevice is the budget of a device this admin logged in on before
	// (a signed device cookie, OWASP's "device cookies"): it never waits
	// behind PerAccount, so guesses from elsewhere, however many, cannot
	// lock the real admin out of the browsers they use.
	PerDevice Rate
	// MFAPerDay caps an account's tries at its second step's code from
	// unknown browsers in a day, on top of PerAccountAndAddress: someone
	// who holds the password gets 20 tries a day (a 6-digit code, 3 steps
	// accepted: about 1 in 16,000 a day), the admin's own browsers their
	// own budget.
	MFAPerDay Rate
}

// DefaultLoginLimits: per 15 minutes, 5 attempts per account and address
// and 20 per address; per account, from unknown devices, 20 at once and
// 80 more an hour (one every 45 s), so never more than 100 in any hour;
// per known device, 5 an hour.
var DefaultLoginLimits = LoginLimits{
	PerAccountAndAddress: Rate{Events: 5, Per: 15 * time.Minute, Burst: 5},
	PerAddress:           Rate{Events: 20, Per: 15 * time.Minute, Burst: 20},
	PerAccount:           Rate{Events: 80, Per: time.Hour, Burst: 20},
	SlowWait:             5 * time.Second,
	PerDevice:            Rate{Events: 5, Per: time.Hour, Burst: 5},
	MFAPerDay:            Rate{Events: 20, Per: 24 * time.Hour, Burst: 20},
}

// DefaultFailuresLogged: failed logins at emails that are no account's,
// itemized in the security log from all addresses together: 600 at once,
// then 600 a minute.
var DefaultFailuresLogged = Rate{Events: 600, Per: time.Minute, Burst: 600}

// The limits a login can be refused by, as Auth.Refused names them.
const (
	LimitAddress        = "address"
	LimitAccountAddress = "account_address"
	LimitAccount        = "account"
	LimitDevice         = "device"
	// LimitPassword is a session's tries at its admin's current password
	// (Auth.ChangePassword), under PerAccountAndAddress.
	LimitPassword = "password"
	// LimitMFA is a login's tries at its second step's code, under
	// PerAccountAndAddress (per account, or per known device).
	LimitMFA = "mfa"
)

// Password checks hold ~19 MiB each (argon2id): DefaultHashSlots of them at
// once fit a 128 MiB container with room to spare.
const (
	DefaultHashSlots = 2
	DefaultHashWait  = 2 * time.Second
)

// Auth logs admins in and out.
type Auth struct {
	Admins   AdminStore
	Sessions SessionStore
	Limiter  Limiter

	SessionTTL time.Duration
	Limits     LoginLimits
	// HashSlots bounds concurrent password checks; a login that finds no
	// free slot within HashWait gets EUNAVAILABLE (503, retry shortly).
	HashSlots int64
	HashWait  time.Duration

	// DeviceKey signs device cookies (at least 32 bytes; derived from the
	// session key in production). Without it no device is ever known.
	DeviceKey []byte
	// Refused, if set, is told each time a limit refuses a login (one of
	// the Limit* names), for the operators' metrics.
	Refused func(limit string)
	// Log records every login that passed the limits: its outcome, the
	// admin (or a pseudonym of an email that is no account's) and a
	// pseudonym of the caller's address, keyed with PseudonymKey. A login
	// whose outcome cannot be recorded fails (EUNAVAILABLE).
	Log          SecurityLog
	PseudonymKey []byte
	// FailuresLogged bounds the failed logins at emails that are no
	// account's itemized in Log, from every address together; past it they
	// are only counted (Unlogged).
	FailuresLogged Rate
	Unlogged       func()

	// MFA keeps TOTP secrets and recovery codes, sealed and keyed with
	// MFAKey (32 bytes, derived from the session key in production).
	// With MFARequired an admin without TOTP sets it up before anything
	// else; without it TOTP is each admin's choice (development).
	MFA         MFAStore
	MFAKey      []byte
	MFARequired bool
	// MFAStepTTL bounds a session waiting for its second step.
	MFAStepTTL time.Duration

	// Clock, if set, replaces time.Now for the device cookies' age and
	// TOTP codes (tests).
	Clock func() time.Time

	slotsOnce sync.Once
	slots     *semaphore.Weighted
}

func (a *Auth) now() time.Time {
	if a.Clock != nil {
		return a.Clock()
	}
	return time.Now()
}

// LoginAttempt is one try to log in. Client identifies the caller's
// network (its address, or its /64 for IPv6); Device is the device cookie
// the browser sent, if any.
type LoginAttempt struct {
	Email, Password string
	Client, Device  string
}

// LoggedIn is a successful login: the session's token, and the device
// cookie to keep in the browser (new, or the one it sent, renewed).
type LoggedIn struct {
	Token   string
	Session Session
	Device  string
}

// Bootstrap creates the first admin from configuration if missing.
func (a *Auth) Bootstrap(ctx context.Context, email, password string) (bool, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	return a.Admins.EnsureAdmin(ctx, email, HashPassword(password))
}

// Login checks credentials under the LoginLimits and opens a session.
// Errors: EINVALID, EUNAUTHORIZED, ERATELIMITED, EUNAVAILABLE.
func (a *Auth) Login(ctx context.Context, in LoginAttempt) (LoggedIn, error) {
	email, password := strings.ToLower(strings.TrimSpace(in.Email)), in.Password
	if email == "" || password == "" || len(email) > 254 || len(password) > 1024 {
		return LoggedIn{}, &Error{Code: EINVALID, Message: "email and password are required",
			Fields: map[string]string{"email": "is required", "password": "is required"}}
	}
	pairKey := "login:pair:" + in.Client + " " + email
	// The address's budget first: once an address is refused, nothing it
	// sends (a new email each time) makes the store keep anything more.
	for _, l := range []struct {
		key, name string
		rate      Rate
	}{{"login:addr:" + in.Client, LimitAddress, a.Limits.PerAddress}, {pairKey, LimitAccountAddress, a.Limits.PerAccountAndAddress}} {
		ok, wait, err := a.Limiter.Allow(ctx, l.key, l.rate)
		if err != nil {
			return LoggedIn{}, err
		}
		if !ok {
			return LoggedIn{}, a.refuse(l.name, "too many login attempts from your address; wait and try again", wait)
		}
	}
	device := a.knownDevice(email, in.Device)
	deviceKey := "login:dev:" + base64.RawURLEncoding.EncodeToString(device)
	if device != nil {
		ok, wait, err := a.Limiter.Allow(ctx, deviceKey, a.Limits.PerDevice)
		if err != nil {
			return LoggedIn{}, err
		}
		if !ok {
			return LoggedIn{}, a.refuse(LimitDevice, "too many login attempts from this browser; wait and try again", wait)
		}
	} else if err := a.accountTurn(ctx, email); err != nil {
		return LoggedIn{}, err
	}
	admin, err := a.Admins.AdminByEmail(ctx, email)
	if err != nil && ErrorCode(err) != ENOTFOUND {
		return LoggedIn{}, err
	}
	hash := dummyHash()
	if admin != nil {
		hash = admin.PasswordHash
	}
	// Verify even for unknown emails, so timing does not reveal accounts.
	match, err := a.verify(ctx, hash, password)
	if err != nil {
		return LoggedIn{}, err
	}
	event := SecurityEvent{Kind: EventLoginFailed, Client: Pseudonym(a.PseudonymKey, "client", in.Client)}
	if admin != nil {
		event.AdminID = &admin.ID
	} else {
		event.Subject = Pseudonym(a.PseudonymKey, "email", email)
	}
	if !match || admin == nil {
		if err := a.logFailure(ctx, event); err != nil {
			return LoggedIn{}, err
		}
		return LoggedIn{}, Errorf(EUNAUTHORIZED, "wrong email or password")
	}
	if admin.DisabledAt != nil {
		event.Kind = EventLoginDisabled
		if err := a.logFailure(ctx, event); err != nil {
			return LoggedIn{}, err
		}
		// The answer a wrong password gets: a guesser must not learn that
		// this password is the account's (the log says it was disabled).
		return LoggedIn{}, Errorf(EUNAUTHORIZED, "wrong email or password")
	}
	// Best effort: if it fails, earlier attempts from here keep counting.
	_ = a.Limiter.Reset(ctx, pairKey)
	if device != nil {
		_ = a.Limiter.Reset(ctx, deviceKey)
	}
	s := Session{AdminID: admin.ID, Email: admin.Email, CSRFToken: RandomToken(), CreatedAt: a.now().UTC(), Epoch: admin.SessionEpoch}
	ttl, cookie := a.SessionTTL, ""
	event.Kind = EventLoginOK
	if s.MFA = a.stage(admin); s.MFA != "" {
		// The password is right; the session reaches only its second step,
		// whose end logs the login and issues the device cookie (stepDone).
		// Someone has the password: that is logged now, code or not.
		ttl, event.Kind, s.TOTP = cmp.Or(a.MFAStepTTL, DefaultMFAStepTTL), EventMFAAsked, s.MFA == MFAVerify
		if device != nil {
			s.Device = base64.RawURLEncoding.EncodeToString(device)
		}
	} else {
		cookie = a.issueDevice(email, device)
	}
	t, err := a.Sessions.CreateSession(ctx, s, ttl)
	if err != nil {
		return LoggedIn{}, err
	}
	if a.Log != nil {
		if err := a.Log.RecordSecurityEvent(ctx, event); err != nil {
			// A session nobody can account for is not handed out.
			_ = a.Sessions.DeleteSession(context.WithoutCancel(ctx), t)
			return LoggedIn{}, err
		}
	}
	return LoggedIn{Token: t, Session: s, Device: cookie}, nil
}

// stage is the second step a login with admin's password has to take.
func (a *Auth) stage(admin *Admin) string {
	switch {
	case admin.MFAEnrolledAt != nil:
		return MFAVerify
	case a.MFARequired:
		return MFAEnrol
	}
	return ""
}

// logFailure records a failed login. One at an admin's account always is
// (those are bounded already: PerAccount, PerDevice); one at an email that
// is no account's only while FailuresLogged allows, so that a flood of
// made-up emails from many addresses neither grows the log without bound
// nor crowds out the attempts at real accounts; past it, it is counted.
func (a *Auth) logFailure(ctx context.Context, e SecurityEvent) error {
	if a.Log == nil {
		return nil
	}
	if e.AdminID == nil && !a.FailuresLogged.Off() {
		ok, _, err := a.Limiter.Allow(ctx, "audit:login-failures", a.FailuresLogged)
		if err != nil {
			return err
		}
		if !ok {
			if a.Unlogged != nil {
				a.Unlogged()
			}
			return nil
		}
	}
	return a.Log.RecordSecurityEvent(ctx, e)
}

// Unlock gives an admin's account its budget for unknown browsers back
// (an operator's answer to an admin who has no known browser, a new
// account, while guesses spend it), and logs it. Errors: EINVALID,
// ENOTFOUND, EUNAVAILABLE.
func (a *Auth) Unlock(ctx context.Context, email string) (*Admin, error) {
	email, err := adminEmail(email)
	if err != nil {
		return nil, err
	}
	admin, err := a.Admins.AdminByEmail(ctx, email)
	if err != nil {
		return nil, err
	}
	if err := a.Limiter.Reset(ctx, "login:acct:"+email); err != nil {
		return nil, err
	}
	if a.Log != nil {
		if err := a.Log.RecordSecurityEvent(ctx, SecurityEvent{Kind: EventUnlocked, AdminID: &admin.ID}); err != nil {
			return nil, err
		}
	}
	return admin, nil
}

// refuse reports a refusal to Refused and makes its error.
func (a *Auth) refuse(limit, message string, wait time.Duration) error {
	if a.Refused != nil {
		a.Refused(limit)
	}
	return &Error{Code: ERATELIMITED, Message: message, RetryAfter: RetryAfterSeconds(wait)}
}

// accountTurn spends one of the account's attempts from unknown devices,
// waiting for the next one when it is at most SlowWait away.
func (a *Auth) accountTurn(ctx context.Context, email string) error {
	deadline := time.Now().Add(a.Limits.SlowWait)
	for {
		ok, wait, err := a.Limiter.Allow(ctx, "login:acct:"+email, a.Limits.PerAccount)
		if err != nil || ok {
			return err
		}
		if time.Now().Add(wait).After(deadline) {
			return a.refuse(LimitAccount, "this account is receiving many login attempts; wait and try again, or log in from a browser you used before",
				wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// A device cookie is 16 random bytes (the device's name in the limiter),
// the day it was issued (4 bytes, days since 1970), and the first 16 bytes
// of their HMAC-SHA256 with the admin's email: it is made only by a
// successful login, names that one account, and is refused DeviceMaxAge
// after it was issued (each login with it issues it anew).
const (
	deviceIDLen, deviceDayLen, deviceMACLen = 16, 4, 16
	// DeviceMaxAge is how long a device cookie is honoured after its last
	// successful login.
	DeviceMaxAge = 180 * 24 * time.Hour
)

func (a *Auth) deviceMAC(email string, idAndDay []byte) []byte {
	m := hmac.New(sha256.New, a.DeviceKey)
	m.Write([]byte("loandesk device v1\x00"))
	m.Write([]byte(email))
	m.Write([]byte{0})
	m.Write(idAndDay)
	return m.Sum(nil)[:deviceMACLen]
}

// issueDevice makes the cookie for the device id (new when id is nil).
func (a *Auth) issueDevice(email string, id []byte) string {
	if len(a.DeviceKey) == 0 {
		return ""
	}
	if id == nil {
		id = make([]byte, deviceIDLen)
		if _, err := rand.Read(id); err != nil {
			panic(err)
		}
	}
	b := binary.BigEndian.AppendUint32(append([]byte(nil), id...), uint32(a.now().Unix()/86400))
	return base64.RawURLEncoding.EncodeToString(append(b, a.deviceMAC(email, b)...))
}

// knownDevice returns the device's id when cookie is a device cookie this
// key made for email within DeviceMaxAge, and nil otherwise.
func (a *Auth) knownDevice(email, cookie string) []byte {
	const n = deviceIDLen + deviceDayLen
	if len(a.DeviceKey) == 0 || len(cookie) != base64.RawURLEncoding.EncodedLen(n+deviceMACLen) {
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(cookie)
	if err != nil || !hmac.Equal(b[n:], a.deviceMAC(email, b[:n])) {
		return nil
	}
	issued := time.Unix(int64(binary.BigEndian.Uint32(b[deviceIDLen:n]))*86400, 0)
	if a.now().Sub(issued) > DeviceMaxAge {
		return nil
	}
	return b[:deviceIDLen]
}

// verify checks a password in one of the HashSlots.
func (a *Auth) verify(ctx context.Context, hash, password string) (bool, error) {
	a.slotsOnce.Do(func() { a.slots = semaphore.NewWeighted(cmp.Or(a.HashSlots, DefaultHashSlots)) })
	wctx, cancel := context.WithTimeout(ctx, cmp.Or(a.HashWait, DefaultHashWait))
	defer cancel()
	if err := a.slots.Acquire(wctx, 1); err != nil {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		return false, &Error{Code: EUNAVAILABLE, Message: "too many logins at once; retry in a second", RetryAfter: 1}
	}
	defer a.slots.Release(1)
	return VerifyPassword(hash, password), nil
}

// Authenticate resolves a session token, and ends the session of an admin
// who was disabled meanwhile (or removed): each request asks the account,
// so `loandesk admin disable` takes effect on the next one.
// Errors: EUNAUTHORIZED, EUNAVAILABLE.
func (a *Auth) Authenticate(ctx context.Context, token string) (Session, error) {
	if token == "" {
		return Session{}, Errorf(EUNAUTHORIZED, "log in first")
	}
	s, err := a.Sessions.Session(ctx, token)
	if err != nil {
		return Session{}, err
	}
	admin, err := a.Admins.AdminByID(ctx, s.AdminID)
	switch {
	case ErrorCode(err) == ENOTFOUND || err == nil && admin.DisabledAt != nil:
		// Best effort: the account check refuses it on every request anyway.
		_ = a.Sessions.DeleteSession(ctx, token)
		return Session{}, Errorf(EUNAUTHORIZED, "this account is disabled; ask another admin")
	case err != nil:
		return Session{}, err
	case s.Epoch != admin.SessionEpoch:
		_ = a.Sessions.DeleteSession(ctx, token)
		return Session{}, errPasswordChanged()
	case s.MFA == "" && !s.TOTP && (a.MFARequired || admin.MFAEnrolledAt != nil):
		// A full session without the second step where it is due: opened
		// before TOTP was required, or by a replica that did not know it
		// yet (a rolling upgrade). Its admin logs in again.
		_ = a.Sessions.DeleteSession(ctx, token)
		return Session{}, Errorf(EUNAUTHORIZED, "two-step login is required now; log in again")
	}
	return s, nil
}

// errPasswordChanged ends a session whose account's password changed since
// it was opened (its epoch is behind), or that changed it but got no new one.
func errPasswordChanged() error {
	return Errorf(EUNAUTHORIZED, "your password was changed; log in with the new one")
}

// PasswordChange is an admin's request, from a session, to change their
// own password.
type PasswordChange struct {
	Token   string // the session's, which is replaced
	Session Session
	Current string
	New     string
	Client  string // the caller's address key, as in LoginAttempt
}

// ChangePassword replaces the session's admin's password after checking
// the current one (ASVS 2.1.5, 2.1.6), ends every session of the account
// and opens a new one for this browser. Tries at the current password are
// limited per account (PerAccountAndAddress) and logged: a session is
// not a licence to guess it. Errors: EINVALID (naming the field),
// ERATELIMITED, EUNAUTHORIZED (the account is gone or disabled, or the
// new session could not be opened), EUNAVAILABLE.
func (a *Auth) ChangePassword(ctx context.Context, in PasswordChange) (LoggedIn, error) {
	if msg := passwordProblem(in.New); msg != "" {
		return LoggedIn{}, &Error{Code: EINVALID, Message: "the new password " + msg, Fields: map[string]string{"new_password": msg}}
	}
	if in.New == in.Current {
		return LoggedIn{}, &Error{Code: EINVALID, Message: "the new password is the current one",
			Fields: map[string]string{"new_password": "is the current password"}}
	}
	if in.Session.MFA != "" {
		return LoggedIn{}, Errorf(EFORBIDDEN, "finish logging in first")
	}
	id := in.Session.AdminID
	ok, wait, err := a.Limiter.Allow(ctx, "password:"+strconv.FormatInt(id, 10), a.Limits.PerAccountAndAddress)
	if err != nil {
		return LoggedIn{}, err
	}
	if !ok {
		return LoggedIn{}, a.refuse(LimitPassword, "too many tries at the current password; wait and try again", wait)
	}
	admin, err := a.Admins.AdminByID(ctx, id)
	if err != nil {
		return LoggedIn{}, err
	}
	if admin.SessionEpoch != in.Session.Epoch {
		return LoggedIn{}, errPasswordChanged()
	}
	match, err := a.verify(ctx, admin.PasswordHash, in.Current)
	if err != nil {
		return LoggedIn{}, err
	}
	event := SecurityEvent{Kind: EventPasswordChanged, AdminID: &id, Client: Pseudonym(a.PseudonymKey, "client", in.Client)}
	if !match {
		event.Kind = EventPasswordFailed
		if err := a.logFailure(ctx, event); err != nil {
			return LoggedIn{}, err
		}
		return LoggedIn{}, &Error{Code: EINVALID, Message: "the current password is not this account's",
			Fields: map[string]string{"current_password": "is not your password"}}
	}
	epoch, err := a.Admins.SetPassword(ctx, id, HashPassword(in.New), in.Session.Epoch, event)
	if ErrorCode(err) == ENOTFOUND {
		// Disabled, or another session changed the password first.
		return LoggedIn{}, Errorf(EUNAUTHORIZED, "this session has ended; log in again")
	}
	if err != nil {
		return LoggedIn{}, err
	}
	// The old session ended with the epoch; best effort, it is refused anyway.
	_ = a.Sessions.DeleteSession(context.WithoutCancel(ctx), in.Token)
	s := Session{AdminID: id, Email: admin.Email, CSRFToken: RandomToken(), CreatedAt: a.now().UTC(), Epoch: epoch, TOTP: in.Session.TOTP}
	t, err := a.Sessions.CreateSession(ctx, s, a.SessionTTL)
	if err != nil {
		// The password is changed all the same: the way on is to log in.
		return LoggedIn{}, errPasswordChanged()
	}
	return LoggedIn{Token: t, Session: s}, nil
}

// passwordProblem says what is wrong with a new password, or "": ASVS
// 2.1.1 and 2.1.2, at least 12 characters, and at most the login's bound
// (a longer one could never be typed in).
func passwordProblem(p string) string {
	if n := utf8.RuneCountInString(p); n < 12 || len(p) > 1024 {
		return "must have 12 to 1024 characters"
	}
	return ""
}

// Logout ends a session.
func (a *Auth) Logout(ctx context.Context, token string) error {
	return a.Sessions.DeleteSession(ctx, token)
}

// CheckCSRF compares the header token with the session's in constant time.
// Errors: EFORBIDDEN.
func CheckCSRF(s Session, header string) error {
	if header == "" || subtle.ConstantTimeCompare([]byte(header), []byte(s.CSRFToken)) != 1 {
		return Errorf(EFORBIDDEN, "missing or wrong X-CSRF-Token header")
	}
	return nil
}

// RandomToken returns 32 random bytes, base64url-encoded.
func RandomToken() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// argon2id parameters: OWASP's recommended minimum (19 MiB, 2 passes, 1 lane).
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// dummyHash is checked for unknown emails; made on first use, not at start.
var dummyHash = sync.OnceValue(func() string { return HashPassword("timing-equalizer") })

// HashPassword returns a PHC-format argon2id hash.
func HashPassword(password string) string {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		panic(err)
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// VerifyPassword checks password against a PHC-format argon2id hash.
func VerifyPassword(encoded, password string) bool {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var version int
	var m uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || m > 1<<20 || t == 0 || t > 16 || p == 0 {
		return false
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return false
	}
	want, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}
