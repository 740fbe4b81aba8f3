package limiter

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/loandesk/loandesk/internal/domain"
)

// clock is a fake time source the tests move by hand.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) add(d time.Duration)     { c.t = c.t.Add(d) }
func localAt(c *clock, width int) *Local { l := NewLocal(width); l.now = c.now; return l }

func TestLocalSpendsABurstThenRefills(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	l := localAt(c, 0)
	rate := domain.Rate{Events: 5, Per: time.Minute, Burst: 5}
	for i := range 5 {
		if ok, _ := l.Allow("a", rate); !ok {
			t.Fatalf("event %d of the burst refused", i+1)
		}
	}
	ok, wait := l.Allow("a", rate)
	if ok || wait <= 0 || wait > 12*time.Second {
		t.Fatalf("6th event: ok=%v wait=%v, want refused with a wait of at most one interval (12 s)", ok, wait)
	}
	if ok, _ := l.Allow("b", rate); !ok {
		t.Fatal("another key was refused")
	}
	c.add(wait)
	if ok, _ := l.Allow("a", rate); !ok {
		t.Fatal("refused after waiting the time it named")
	}
	if ok, _ := l.Allow("a", rate); ok {
		t.Fatal("one interval gave back more than one event")
	}
}

// A flood of distinct keys neither grows the table nor gives any key a
// fresh budget: the table is fixed, and collisions only make it stricter.
func TestLocalIsBoundedAndNeverFailsOpen(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	l := localAt(c, 64) // tiny: every cell is shared by many keys
	rate := domain.Rate{Events: 3, Per: time.Hour, Burst: 3}
	for range 3 {
		l.Allow("victim", rate)
	}
	allowed := 0
	for i := range 100_000 {
		if ok, _ := l.Allow(fmt.Sprintf("attacker-%d", i), rate); ok {
			allowed++
		}
	}
	if ok, _ := l.Allow("victim", rate); ok {
		t.Fatal("the spent key got a budget back after a flood of other keys")
	}
	// 2 rows × 64 cells × 3 events: the most any set of keys can spend.
	if allowed > 2*64*3 {
		t.Fatalf("%d events allowed across the flood, more than the table holds", allowed)
	}
	if n := len(l.tables[rate]); n != rows*64 {
		t.Fatalf("table grew to %d cells", n)
	}
}

// fakeStore is a shared store whose answers the test sets.
type fakeStore struct {
	allow func(ctx context.Context, key string, r domain.Rate) (bool, time.Duration, error)
	reset func(ctx context.Context, key string) error
	calls atomic.Int64
}

func (f *fakeStore) Allow(ctx context.Context, key string, r domain.Rate) (bool, time.Duration, error) {
	f.calls.Add(1)
	return f.allow(ctx, key, r)
}
func (f *fakeStore) Reset(ctx context.Context, key string) error { return f.reset(ctx, key) }

var errFull = &domain.Error{Code: domain.EUNAVAILABLE, Message: "OOM command not allowed when used memory > 'maxmemory'"}

func TestFallbackDecidesWithTheStoreWhileItAnswers(t *testing.T) {
	store := &fakeStore{allow: func(context.Context, string, domain.Rate) (bool, time.Duration, error) {
		return false, 7 * time.Second, nil
	}}
	f := NewFallback(store, NewLocal(0), nil)
	ok, wait, err := f.Allow(context.Background(), "k", domain.PerMinute(100))
	if ok || wait != 7*time.Second || err != nil {
		t.Fatalf("got %v %v %v, want the store's refusal", ok, wait, err)
	}
}

// 200 clients at once against a limit whose store is full: exactly the
// burst gets through, as the store would have allowed.
func TestFallbackHoldsTheLimitWhenTheStoreIsFull(t *testing.T) {
	store := &fakeStore{allow: func(context.Context, string, domain.Rate) (bool, time.Duration, error) {
		return false, 0, errFull
	}}
	var fallbacks atomic.Int64
	f := NewFallback(store, NewLocal(0), func() { fallbacks.Add(1) })
	rate := domain.Rate{Events: 10, Per: time.Hour, Burst: 10}
	var allowed atomic.Int64
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			ok, _, err := f.Allow(context.Background(), "login:addr:203.0.113.9", rate)
			if err != nil {
				t.Error(err)
			}
			if ok {
				allowed.Add(1)
			}
		}()
	}
	close(gate)
	wg.Wait()
	if allowed.Load() != 10 {
		t.Fatalf("%d of 200 allowed with the store full, want the burst of 10", allowed.Load())
	}
	if fallbacks.Load() != 200 {
		t.Fatalf("%d fallbacks reported, want 200", fallbacks.Load())
	}
}

// Local counts while the store answers, so an attacker who spent a budget
// in the store has spent it locally too when the store goes away.
func TestFallbackRemembersWhatWasSpentBeforeTheStoreWent(t *testing.T) {
	up := true
	store := &fakeStore{allow: func(context.Context, string, domain.Rate) (bool, time.Duration, error) {
		if up {
			return true, 0, nil
		}
		return false, 0, errors.New("dial tcp: connection refused")
	}}
	f := NewFallback(store, NewLocal(0), nil)
	rate := domain.Rate{Events: 5, Per: time.Hour, Burst: 5}
	for range 5 {
		if ok, _, _ := f.Allow(context.Background(), "k", rate); !ok {
			t.Fatal("the store's yes was not followed")
		}
	}
	up = false
	if ok, _, err := f.Allow(context.Background(), "k", rate); ok || err != nil {
		t.Fatalf("ok=%v err=%v: the store went and the spent budget came back", ok, err)
	}
}

// A store that answers too slowly is not waited for: this process decides.
func TestFallbackDoesNotWaitForASlowStore(t *testing.T) {
	store := &fakeStore{allow: func(ctx context.Context, _ string, _ domain.Rate) (bool, time.Duration, error) {
		<-ctx.Done() // never answers
		return false, 0, ctx.Err()
	}}
	var fallbacks atomic.Int64
	f := NewFallback(store, NewLocal(0), func() { fallbacks.Add(1) })
	rate := domain.Rate{Events: 2, Per: time.Hour, Burst: 2}
	for i, want := range []bool{true, true, false} {
		ok, _, err := f.Allow(context.Background(), "k", rate)
		if err != nil || ok != want {
			t.Fatalf("call %d: ok=%v err=%v, want %v from the local table", i+1, ok, err, want)
		}
	}
	if fallbacks.Load() != 3 {
		t.Fatalf("%d fallbacks, want 3", fallbacks.Load())
	}
}

// storeOf is a shared store with real semantics (a Local of its own), that
// can be reset, or restarted empty.
type storeOf struct{ l *Local }

func (s *storeOf) Allow(_ context.Context, key string, r domain.Rate) (bool, time.Duration, error) {
	ok, wait := s.l.Allow(key, r)
	return ok, wait, nil
}
func (s *storeOf) Reset(context.Context, string) error { s.l = NewLocal(0); return nil }

// The store decides while it answers: its Reset (after a good login) gives
// the budget back, whatever this replica counted meanwhile.
func TestFallbackFollowsTheStoresReset(t *testing.T) {
	store := &storeOf{NewLocal(0)}
	f := NewFallback(store, NewLocal(0), nil)
	rate := domain.Rate{Events: 5, Per: 15 * time.Minute, Burst: 5}
	for round := range 3 {
		for i := range 5 {
			if ok, _, _ := f.Allow(context.Background(), "login:pair:x", rate); !ok {
				t.Fatalf("round %d, attempt %d refused after the store's reset", round+1, i+1)
			}
		}
		_ = f.Reset(context.Background(), "login:pair:x")
	}
}

// The stated tolerance: a store that comes back empty after an outage
// starts the budget afresh — one more budget in that window, no more.
func TestFallbackAfterAnOutageGivesAtMostOneMoreBudget(t *testing.T) {
	var store domain.Limiter = &fakeStore{allow: func(context.Context, string, domain.Rate) (bool, time.Duration, error) {
		return false, 0, errors.New("dial tcp: connection refused")
	}}
	sw := &switchable{store}
	f := NewFallback(sw, NewLocal(0), nil)
	rate := domain.Rate{Events: 3, Per: time.Hour, Burst: 3}
	allowed := 0
	for range 10 {
		if ok, _, _ := f.Allow(context.Background(), "k", rate); ok {
			allowed++
		}
	}
	sw.Limiter = &storeOf{NewLocal(0)} // back, and empty
	for range 10 {
		if ok, _, _ := f.Allow(context.Background(), "k", rate); ok {
			allowed++
		}
	}
	// 3 during the outage; after it, 3 more once the breaker lets the
	// store answer again (here at once, or after its 2 s): never more.
	if allowed < 3 || allowed > 6 {
		t.Fatalf("%d allowed in the window, want from 3 to 6 (at most two budgets)", allowed)
	}
}

type switchable struct{ domain.Limiter }

// A refusal by the store spends nothing locally: the local table counts
// only what this replica let through, so when the store goes the budget
// left is what it really is.
func TestFallbackCountsOnlyWhatItLetThrough(t *testing.T) {
	refuse := true
	store := &fakeStore{allow: func(context.Context, string, domain.Rate) (bool, time.Duration, error) {
		if refuse {
			return false, time.Second, nil
		}
		return false, 0, errors.New("down")
	}}
	f := NewFallback(store, NewLocal(0), nil)
	rate := domain.Rate{Events: 2, Per: time.Hour, Burst: 2}
	for range 10 {
		_, _, _ = f.Allow(context.Background(), "k", rate)
	}
	refuse = false
	if ok, _, _ := f.Allow(context.Background(), "k", rate); !ok {
		t.Fatal("refusals by the store were counted as spent here")
	}
}

func TestFallbackGivesUpOnlyWhenTheCallerDoes(t *testing.T) {
	store := &fakeStore{allow: func(ctx context.Context, _ string, _ domain.Rate) (bool, time.Duration, error) {
		return false, 0, ctx.Err()
	}}
	f := NewFallback(store, NewLocal(0), nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := f.Allow(ctx, "k", domain.PerMinute(1)); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want the caller's cancellation", err)
	}
}
