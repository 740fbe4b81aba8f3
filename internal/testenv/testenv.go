// Package testenv gives integration tests a real, freshly migrated
// PostgreSQL database and an isolated Valkey key space. Without the
// databases the tests fail with a message saying how to get them: they
// never skip.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/loandesk/loandesk/internal/postgres"
	"github.com/loandesk/loandesk/internal/valkey"
)

const howTo = "integration tests need PostgreSQL 17 and Valkey 8: run `make test` (it starts both in containers), " +
	"or start them yourself and set TEST_DATABASE_URL (a role allowed to CREATE DATABASE) and TEST_VALKEY_URL; see docs/development.md"

// Logger discards logs unless TEST_LOG=1.
func Logger() *slog.Logger {
	if os.Getenv("TEST_LOG") == "1" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func suffix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// DatabaseURL creates a new database, migrates it, and drops it after the
// test. It returns the new database's URL.
func DatabaseURL(t testing.TB) string {
	t.Helper()
	admin := os.Getenv("TEST_DATABASE_URL")
	if admin == "" {
		t.Fatalf("TEST_DATABASE_URL is not set: %s", howTo)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("connecting to TEST_DATABASE_URL: %v (%s)", err, howTo)
	}
	name := "loandesk_test_" + suffix()
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		conn.Close(ctx)
		t.Fatalf("creating test database: %v", err)
	}
	conn.Close(ctx)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if c, err := pgx.Connect(ctx, admin); err == nil {
			_, _ = c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			c.Close(ctx)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("parsing TEST_DATABASE_URL: %v", err)
	}
	u.Path = "/" + name
	db, err := postgres.Open(ctx, u.String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx, Logger()); err != nil {
		t.Fatalf("migrating test database: %v", err)
	}
	return u.String()
}

// DB returns an open adapter on a fresh, migrated database.
func DB(t testing.TB) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), DatabaseURL(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

// SQL is a pool of its own on a test database (DatabaseURL's), for what a
// test does around the adapter: set a job's state, hold a lock.
func SQL(t testing.TB, url string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// ValkeyURL returns TEST_VALKEY_URL or fails the test.
func ValkeyURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("TEST_VALKEY_URL")
	if u == "" {
		t.Fatalf("TEST_VALKEY_URL is not set: %s", howTo)
	}
	return u
}

// Valkey returns a store whose keys live under a prefix of their own.
func Valkey(t testing.TB) *valkey.Store {
	t.Helper()
	s, err := valkey.Open(context.Background(), ValkeyURL(t), "", []byte("test-session-key"))
	if err != nil {
		t.Fatalf("%v (%s)", err, howTo)
	}
	t.Cleanup(func() { s.Close() })
	return s.WithPrefix(fmt.Sprintf("test:%s:", suffix()))
}

// Proxy forwards TCP connections to addr until cut, so a test can make a
// dependency die mid-way: cut closes the listener and every connection;
// freeze makes it fall silent, as a machine that died does (no reset).
type Proxy struct {
	Addr   string
	ln     net.Listener
	mu     sync.Mutex
	cons   []net.Conn
	dead   bool
	frozen atomic.Bool
}

// NewProxy listens on a free loopback port and forwards to target.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	return NewProxyOn(t, "127.0.0.1:0", target)
}

// NewProxyOn listens on addr and forwards to target: a dependency that
// appears, at an address its client already knows, when the test says.
func NewProxyOn(t testing.TB, addr, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{Addr: ln.Addr().String(), ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if p.frozen.Load() { // accepted, and never answered
				if !p.track(c) {
					return
				}
				continue
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			if !p.track(c, up) {
				return
			}
			go p.pipe(up, c)
			go p.pipe(c, up)
		}
	}()
	t.Cleanup(p.Cut)
	return p
}

func (p *Proxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dead {
		for _, c := range cs {
			c.Close()
		}
		return false
	}
	p.cons = append(p.cons, cs...)
	return true
}

// pipe copies src to dst until either ends; frozen, it drops what it reads.
func (p *Proxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	buf := make([]byte, 32*1024)
	for {
		n, err := src.Read(buf)
		if n > 0 && !p.frozen.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// Freeze makes the dependency silent, as a machine that died is: open
// connections stay open and get no answer, new ones are accepted and get
// none either; nothing is refused or reset.
func (p *Proxy) Freeze() { p.frozen.Store(true) }

// Cut kills the dependency: new connections are refused, open ones reset.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dead = true
	p.ln.Close()
	for _, c := range p.cons {
		c.Close()
	}
}

// ThroughProxy rewrites a URL's host:port to go through p.
func ThroughProxy(t testing.TB, rawURL string, p *Proxy) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = p.Addr
	return u.String()
}

// HostPort is the host:port of a URL.
func HostPort(t testing.TB, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}
