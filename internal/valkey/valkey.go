// Package valkey keeps what LoanDesk may lose in Valkey: admin sessions and
// rate-limit budgets. Losing them logs admins out and resets the limits,
// nothing else; every durable fact lives in PostgreSQL.
package valkey

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/extra/redisotel/v9"
	"github.com/redis/go-redis/v9"

	"github.com/loandesk/loandesk/internal/domain"
)

// Store is the Valkey adapter. Every key lives under Prefix.
type Store struct {
	rdb     *redis.Client
	prefix  string
	limiter *redis_rate.Limiter
	// sessionKey turns session tokens into storage keys, so that a copy of
	// the data does not hold usable tokens.
	sessionKey []byte
}

// Open connects to Valkey (a redis:// or rediss:// URL) and pings it.
func Open(ctx context.Context, url, password string, sessionKey []byte) (*Store, error) {
	s, err := Dial(url, password, sessionKey)
	if err != nil {
		return nil, err
	}
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		s.rdb.Close()
		return nil, fmt.Errorf("connecting to Valkey at %s: %w", s.rdb.Options().Addr, err)
	}
	return s, nil
}

// Dial returns a client without waiting for Valkey to answer: its
// connections are made when first used.
func Dial(url, password string, sessionKey []byte) (*Store, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("parsing the Valkey URL: %w", err)
	}
	if password != "" {
		opt.Password = password
	}
	// Fail fast while Valkey restarts: the limits then hold in-process
	// (internal/limiter), and admins get a 503 to retry.
	if opt.DialTimeout == 0 {
		opt.DialTimeout = 2 * time.Second
	}
	if opt.ReadTimeout == 0 {
		opt.ReadTimeout, opt.WriteTimeout = 2*time.Second, 2*time.Second
	}
	if opt.MaxRetries == 0 {
		opt.MaxRetries = 1
	}
	// A caller's deadline is the command's (the limiter gives Valkey
	// 250 ms, then decides in-process).
	opt.ContextTimeoutEnabled = true
	rdb := redis.NewClient(opt)
	// Spans name the command only: a statement would carry session JSON
	// and limiter keys.
	if err := redisotel.InstrumentTracing(rdb, redisotel.WithDBStatement(false)); err != nil {
		rdb.Close()
		return nil, err
	}
	return &Store{rdb: rdb, limiter: redis_rate.NewLimiter(rdb), prefix: "loandesk:", sessionKey: sessionKey}, nil
}

// WithPrefix returns a copy that keeps its keys under another prefix (tests).
func (s *Store) WithPrefix(p string) *Store {
	c := *s
	c.prefix = p
	return &c
}

// Close closes the connection pool.
func (s *Store) Close() error { return s.rdb.Close() }

// Ping reports whether Valkey answers.
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
		return "", unavailable("the session store", err)
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
		return domain.Session{}, unavailable("the session store", err)
	}
	var sess domain.Session
	if err := json.Unmarshal(b, &sess); err != nil {
		return domain.Session{}, fmt.Errorf("decoding session: %w", err)
	}
	return sess, nil
}

// DeleteSession ends a session; deleting an unknown token is not an error.
func (s *Store) DeleteSession(ctx context.Context, token string) error {
	if err := s.rdb.Del(ctx, s.sessionStorageKey(token)).Err(); err != nil {
		return unavailable("the session store", err)
	}
	return nil
}

// --- rate limits ---

// limitKey is where key's budget lives: a keyed hash of it, so every
// limiter key has the same size whatever the client sent (an email, an
// address), and a copy of the data names nobody.
func (s *Store) limitKey(key string) string {
	m := hmac.New(sha256.New, s.sessionKey)
	m.Write([]byte("rate-limit\x00" + key))
	return s.key("rl", hex.EncodeToString(m.Sum(nil)[:16]))
}

// Allow spends one event of key's budget (GCRA, atomically in Valkey, by
// go-redis/redis_rate). Errors: EUNAVAILABLE (also when Valkey is full).
func (s *Store) Allow(ctx context.Context, key string, r domain.Rate) (bool, time.Duration, error) {
	res, err := s.limiter.Allow(ctx, s.limitKey(key), redis_rate.Limit{Rate: r.Events, Period: r.Per, Burst: r.Burst})
	if err != nil {
		return false, 0, unavailable("rate limiter", err)
	}
	return res.Allowed > 0, max(res.RetryAfter, 0), nil
}

// Reset gives key its whole budget back.
func (s *Store) Reset(ctx context.Context, key string) error {
	if err := s.limiter.Reset(ctx, s.limitKey(key)); err != nil {
		return unavailable("rate limiter", err)
	}
	return nil
}

// unavailable says Valkey could not answer: callers may retry, and nothing
// durable was at stake (Valkey holds only sessions and rate limits).
func unavailable(what string, err error) error {
	return errors.Join(&domain.Error{Code: domain.EUNAVAILABLE, Message: what + " is unavailable; retry shortly", RetryAfter: 2},
		fmt.Errorf("%s: %w", what, err))
}

// Memory is Valkey's used memory and its maxmemory in bytes (0: no limit),
// from INFO memory (which ElastiCache allows, unlike CONFIG).
func (s *Store) Memory(ctx context.Context) (used, limit int64, err error) {
	info, err := s.rdb.InfoMap(ctx, "memory").Result()
	if err != nil {
		return 0, 0, unavailable("Valkey", err)
	}
	mem := info["Memory"]
	used, err1 := strconv.ParseInt(mem["used_memory"], 10, 64)
	limit, err2 := strconv.ParseInt(mem["maxmemory"], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, 0, fmt.Errorf("reading INFO memory: %w", err)
	}
	return used, limit, nil
}
