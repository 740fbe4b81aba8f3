package domain

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"
)

// Admin is a person who reviews requests.
type Admin struct {
	ID           int64
	Email        string
	PasswordHash string
	CreatedAt    time.Time
}

// Session is a logged-in admin. The CSRF token must accompany every
// state-changing request made with the session cookie.
type Session struct {
	AdminID   int64     `json:"admin_id"`
	Email     string    `json:"email"`
	CSRFToken string    `json:"csrf_token"`
	CreatedAt time.Time `json:"created_at"`
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
	// EnsureAdmin creates the admin unless the email exists; it never
	// changes an existing account's password.
	EnsureAdmin(ctx context.Context, email, passwordHash string) (created bool, err error)
}

// SessionStore keeps sessions; tokens are opaque to the domain.
type SessionStore interface {
	CreateSession(ctx context.Context, s Session, ttl time.Duration) (token string, err error)
	// Session errors: EUNAUTHORIZED (unknown or expired token).
	Session(ctx context.Context, token string) (Session, error)
	DeleteSession(ctx context.Context, token string) error
}

// Counter counts events per key in fixed windows (rate limiting).
type Counter interface {
	// Count returns the count in the current window and its time left.
	Count(ctx context.Context, key string) (int, time.Duration, error)
	// Incr adds one, starting a window of the given length if none is open.
	Incr(ctx context.Context, key string, window time.Duration) (int, time.Duration, error)
	Reset(ctx context.Context, key string) error
}

// Auth logs admins in and out.
type Auth struct {
	Admins   AdminStore
	Sessions SessionStore
	Counter  Counter

	SessionTTL            time.Duration
	FailureWindow         time.Duration
	MaxFailuresPerAccount int
	MaxFailuresPerIP      int
}

// Bootstrap creates the first admin from configuration if missing.
func (a *Auth) Bootstrap(ctx context.Context, email, password string) (bool, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	return a.Admins.EnsureAdmin(ctx, email, HashPassword(password))
}

// Login checks credentials, rate-limits failures per account and per IP, and
// opens a session. Errors: EINVALID, EUNAUTHORIZED, ERATELIMITED.
func (a *Auth) Login(ctx context.Context, email, password, ip string) (string, Session, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	if email == "" || password == "" || len(email) > 254 || len(password) > 1024 {
		return "", Session{}, &Error{Code: EINVALID, Message: "email and password are required",
			Fields: map[string]string{"email": "is required", "password": "is required"}}
	}
	acctKey, ipKey := "login:acct:"+email, "login:ip:"+ip
	for _, k := range []struct {
		key string
		max int
	}{{acctKey, a.MaxFailuresPerAccount}, {ipKey, a.MaxFailuresPerIP}} {
		n, ttl, err := a.Counter.Count(ctx, k.key)
		if err != nil {
			return "", Session{}, err
		}
		if n >= k.max {
			return "", Session{}, &Error{Code: ERATELIMITED, Message: "too many failed logins; try again later", RetryAfter: max(1, int(ttl.Seconds()))}
		}
	}
	admin, err := a.Admins.AdminByEmail(ctx, email)
	if err != nil && ErrorCode(err) != ENOTFOUND {
		return "", Session{}, err
	}
	hash := dummyHash
	if admin != nil {
		hash = admin.PasswordHash
	}
	// Verify even for unknown emails, so timing does not reveal accounts.
	if !VerifyPassword(hash, password) || admin == nil {
		for _, k := range []string{acctKey, ipKey} {
			if _, _, err := a.Counter.Incr(ctx, k, a.FailureWindow); err != nil {
				return "", Session{}, err
			}
		}
		return "", Session{}, Errorf(EUNAUTHORIZED, "wrong email or password")
	}
	if err := a.Counter.Reset(ctx, acctKey); err != nil {
		return "", Session{}, err
	}
	s := Session{AdminID: admin.ID, Email: admin.Email, CSRFToken: RandomToken(), CreatedAt: time.Now().UTC()}
	token, err := a.Sessions.CreateSession(ctx, s, a.SessionTTL)
	return token, s, err
}

// Authenticate resolves a session token. Errors: EUNAUTHORIZED.
func (a *Auth) Authenticate(ctx context.Context, token string) (Session, error) {
	if token == "" {
		return Session{}, Errorf(EUNAUTHORIZED, "log in first")
	}
	return a.Sessions.Session(ctx, token)
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

var dummyHash = HashPassword("timing-equalizer")

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
