package valkey_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/loandesk/loandesk/internal/domain"
	"github.com/loandesk/loandesk/internal/testenv"
	"github.com/loandesk/loandesk/internal/valkey"
)

func TestSessions(t *testing.T) {
	s, ctx := testenv.Valkey(t), context.Background()
	token, err := s.CreateSession(ctx, domain.Session{AdminID: 7, Email: "a@x.com", CSRFToken: "c"}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Session(ctx, token)
	if err != nil || got.AdminID != 7 || got.CSRFToken != "c" {
		t.Fatalf("Session() = %+v, %v", got, err)
	}
	if _, err := s.Session(ctx, token+"x"); domain.ErrorCode(err) != domain.EUNAUTHORIZED {
		t.Fatalf("unknown token: %v", err)
	}
	_ = s.DeleteSession(ctx, token)
	if _, err := s.Session(ctx, token); domain.ErrorCode(err) != domain.EUNAUTHORIZED {
		t.Fatalf("deleted session still valid: %v", err)
	}
	short, _ := s.CreateSession(ctx, domain.Session{AdminID: 1}, 50*time.Millisecond)
	time.Sleep(120 * time.Millisecond)
	if _, err := s.Session(ctx, short); domain.ErrorCode(err) != domain.EUNAUTHORIZED {
		t.Fatalf("expired session still valid: %v", err)
	}
}

func TestLimitHoldsUnderTwoHundredConcurrentCallers(t *testing.T) {
	s, ctx := testenv.Valkey(t), context.Background()
	rate := domain.Rate{Events: 5, Per: time.Minute, Burst: 5}
	var allowed atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			ok, wait, err := s.Allow(ctx, "flood", rate)
			if err != nil {
				t.Error(err)
				return
			}
			if ok {
				allowed.Add(1)
			} else if wait <= 0 || wait > 12*time.Second {
				t.Errorf("refused with retry-after %v, want (0, 12s]", wait)
			}
		}()
	}
	close(start)
	wg.Wait()
	if n := allowed.Load(); n != 5 {
		t.Fatalf("%d of 200 concurrent calls allowed, want exactly the burst of 5", n)
	}
	if err := s.Reset(ctx, "flood"); err != nil {
		t.Fatal(err)
	}
	if ok, _, _ := s.Allow(ctx, "flood", rate); !ok {
		t.Fatal("refused after Reset")
	}
	if ok, _, _ := s.Allow(ctx, "other-key", rate); !ok {
		t.Fatal("one key's budget spent another's")
	}
}

func TestBudgetRefillsAtTheRate(t *testing.T) {
	s, ctx := testenv.Valkey(t), context.Background()
	rate := domain.Rate{Events: 10, Per: time.Second, Burst: 1}
	if ok, _, _ := s.Allow(ctx, "k", rate); !ok {
		t.Fatal("first call refused")
	}
	ok, wait, _ := s.Allow(ctx, "k", rate)
	if ok || wait <= 0 || wait > 100*time.Millisecond {
		t.Fatalf("second call at once: allowed=%v wait=%v, want refused for ≤ 100ms", ok, wait)
	}
	time.Sleep(wait + 20*time.Millisecond)
	if ok, _, _ := s.Allow(ctx, "k", rate); !ok {
		t.Fatal("refused after the refill interval")
	}
}

func TestUnreachableValkeyIsUnavailable(t *testing.T) {
	ctx := context.Background()
	dead, err := valkey.Open(ctx, testenv.ValkeyURL(t), "", []byte("k"))
	if err != nil {
		t.Fatal(err)
	}
	_ = dead.Close() // a client whose connections are gone, as when Valkey dies
	for name, call := range map[string]func() error{
		"Allow":         func() error { _, _, err := dead.Allow(ctx, "x", domain.PerMinute(1)); return err },
		"Session":       func() error { _, err := dead.Session(ctx, "tok"); return err },
		"CreateSession": func() error { _, err := dead.CreateSession(ctx, domain.Session{}, time.Minute); return err },
	} {
		if err := call(); domain.ErrorCode(err) != domain.EUNAVAILABLE {
			t.Errorf("%s with Valkey gone: %v, want EUNAVAILABLE", name, err)
		}
	}
}

// Whatever a client sends becomes part of a limiter key (an email of 254
// characters, an address): every key Valkey stores has one size, and none
// holds what was sent.
func TestLimiterKeysHaveOneSizeAndNameNobody(t *testing.T) {
	ctx := context.Background()
	url := testenv.ValkeyURL(t)
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	raw := redis.NewClient(opt)
	t.Cleanup(func() { raw.Close() })
	s, err := valkey.Open(ctx, url, "", []byte("test-session-key"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	prefix := "keysize:" + time.Now().Format("150405.000000") + ":"
	s = s.WithPrefix(prefix)
	long := strings.Repeat("a", 240) + "@example.com"
	for _, k := range []string{"login:pair:203.0.113.7 " + long, "login:acct:" + long, "submit:2001:db8::/64", "x"} {
		if _, _, err := s.Allow(ctx, k, domain.PerMinute(5)); err != nil {
			t.Fatal(err)
		}
	}
	keys, err := raw.Keys(ctx, "*"+prefix+"*").Result() // redis_rate adds its own "rate:"
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 4 {
		t.Fatalf("%d keys stored, want 4: %v", len(keys), keys)
	}
	for _, k := range keys {
		if len(k) != len(keys[0]) || strings.Contains(k, "example") || strings.Contains(k, "203.0.113") {
			t.Errorf("key %q: want one size for all and no client data", k)
		}
	}
}
