// Package valkey keeps the short-lived state of LoanDesk in Valkey: admin
// sessions, idempotency keys, rate-limit counters, and the stream of requests
// waiting for a decision.
package valkey

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/loandesk/loandesk/internal/domain"
)

// Store is the Valkey adapter. Every key lives under Prefix.
type Store struct {
	rdb    *redis.Client
	prefix string
	// sessionKey turns session tokens into storage keys, so that a copy of
	// the data does not hold usable tokens.
	sessionKey []byte
	// IdemTTL is how long the first answer to an Idempotency-Key is kept.
	IdemTTL time.Duration
	// IdemLease bounds how long a crashed first call blocks its key.
	IdemLease time.Duration
}

// Open connects to Valkey (a redis:// or rediss:// URL) and pings it.
func Open(ctx context.Context, url, password string, sessionKey []byte) (*Store, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("parsing VALKEY_URL: %w", err)
	}
	if password != "" {
		opt.Password = password
	}
	rdb := redis.NewClient(opt)
	if err := rdb.Ping(ctx).Err(); err != nil {
		rdb.Close()
		return nil, fmt.Errorf("connecting to Valkey at %s: %w", opt.Addr, err)
	}
	return &Store{rdb: rdb, prefix: "loandesk:", sessionKey: sessionKey, IdemTTL: 24 * time.Hour, IdemLease: 30 * time.Second}, nil
}

// WithPrefix returns a copy that keeps its keys under another prefix (tests).
func (s *Store) WithPrefix(p string) *Store {
	c := *s
	c.prefix = p
	return &c
}

// Close closes the connection pool.
func (s *Store) Close() error { return s.rdb.Close() }

// Ping reports whether Valkey answers (readiness).
func (s *Store) Ping(ctx context.Context) error { return s.rdb.Ping(ctx).Err() }

func (s *Store) key(parts ...string) string {
	k := s.prefix
	for i, p := range parts {
		if i > 0 {
			k += ":"
		}
		k += p
	}
	return k
}

// --- sessions ---

func (s *Store) sessionStorageKey(token string) string {
	m := hmac.New(sha256.New, s.sessionKey)
	m.Write([]byte(token))
	return s.key("session", hex.EncodeToString(m.Sum(nil)))
}

// CreateSession stores s for ttl and returns a new random token.
func (s *Store) CreateSession(ctx context.Context, sess domain.Session, ttl time.Duration) (string, error) {
	token := domain.RandomToken()
	b, err := json.Marshal(sess)
	if err != nil {
		return "", err
	}
	if err := s.rdb.Set(ctx, s.sessionStorageKey(token), b, ttl).Err(); err != nil {
		return "", fmt.Errorf("storing session: %w", err)
	}
	return token, nil
}

// Session resolves a token. Errors: EUNAUTHORIZED.
func (s *Store) Session(ctx context.Context, token string) (domain.Session, error) {
	b, err := s.rdb.Get(ctx, s.sessionStorageKey(token)).Bytes()
	if errors.Is(err, redis.Nil) {
		return domain.Session{}, domain.Errorf(domain.EUNAUTHORIZED, "your session has expired; log in again")
	}
	if err != nil {
		return domain.Session{}, fmt.Errorf("loading session: %w", err)
	}
	var sess domain.Session
	if err := json.Unmarshal(b, &sess); err != nil {
		return domain.Session{}, fmt.Errorf("decoding session: %w", err)
	}
	return sess, nil
}

// DeleteSession ends a session; deleting an unknown token is not an error.
func (s *Store) DeleteSession(ctx context.Context, token string) error {
	return s.rdb.Del(ctx, s.sessionStorageKey(token)).Err()
}

// --- rate-limit counters ---

// Count returns the events counted under key in its open window.
func (s *Store) Count(ctx context.Context, key string) (int, time.Duration, error) {
	k := s.key("rl", key)
	pipe := s.rdb.Pipeline()
	get := pipe.Get(ctx, k)
	ttl := pipe.PTTL(ctx, k)
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return 0, 0, fmt.Errorf("reading counter: %w", err)
	}
	n, err := get.Int()
	if errors.Is(err, redis.Nil) {
		return 0, 0, nil
	}
	return n, max(ttl.Val(), 0), err
}

// incrScript counts an event and opens the window on the first one,
// atomically, so a crash can never leave a counter without expiry.
var incrScript = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {n, redis.call('PTTL', KEYS[1])}`)

// Incr counts one event under key.
func (s *Store) Incr(ctx context.Context, key string, window time.Duration) (int, time.Duration, error) {
	res, err := incrScript.Run(ctx, s.rdb, []string{s.key("rl", key)}, window.Milliseconds()).Int64Slice()
	if err != nil {
		return 0, 0, fmt.Errorf("counting: %w", err)
	}
	return int(res[0]), time.Duration(res[1]) * time.Millisecond, nil
}

// Reset clears a counter.
func (s *Store) Reset(ctx context.Context, key string) error {
	return s.rdb.Del(ctx, s.key("rl", key)).Err()
}

// --- idempotency keys ---

type idemRecord struct {
	Fingerprint string          `json:"fp"`
	Done        bool            `json:"done"`
	Receipt     *domain.Receipt `json:"receipt,omitempty"`
}

// Begin claims an Idempotency-Key (SET NX with a short lease) or reports what
// the key holds. Errors: ECONFLICT when the key was used for other content.
func (s *Store) Begin(ctx context.Context, key, fingerprint string) (domain.IdemState, domain.Receipt, error) {
	k := s.key("idem", key)
	pending, _ := json.Marshal(idemRecord{Fingerprint: fingerprint})
	ok, err := s.rdb.SetNX(ctx, k, pending, s.IdemLease).Result()
	if err != nil {
		return 0, domain.Receipt{}, fmt.Errorf("claiming idempotency key: %w", err)
	}
	if ok {
		return domain.IdemNew, domain.Receipt{}, nil
	}
	b, err := s.rdb.Get(ctx, k).Bytes()
	if errors.Is(err, redis.Nil) {
		return s.Begin(ctx, key, fingerprint) // expired in between: claim again
	}
	if err != nil {
		return 0, domain.Receipt{}, fmt.Errorf("reading idempotency key: %w", err)
	}
	var rec idemRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return 0, domain.Receipt{}, fmt.Errorf("decoding idempotency key: %w", err)
	}
	if rec.Fingerprint != fingerprint {
		return 0, domain.Receipt{}, domain.Errorf(domain.ECONFLICT, "this Idempotency-Key was already used for a different request")
	}
	if !rec.Done || rec.Receipt == nil {
		return domain.IdemPending, domain.Receipt{}, nil
	}
	return domain.IdemDone, *rec.Receipt, nil
}

// Complete stores the first answer for the key, in one write.
func (s *Store) Complete(ctx context.Context, key, fingerprint string, r domain.Receipt) error {
	b, err := json.Marshal(idemRecord{Fingerprint: fingerprint, Done: true, Receipt: &r})
	if err != nil {
		return err
	}
	return s.rdb.Set(ctx, s.key("idem", key), b, s.IdemTTL).Err()
}

// Release frees a key whose first call failed, so a retry can proceed.
func (s *Store) Release(ctx context.Context, key string) error {
	return s.rdb.Del(ctx, s.key("idem", key)).Err()
}
