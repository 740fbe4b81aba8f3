// Package limiter keeps every LoanDesk limit in force whatever happens to the
// store behind it. Fallback spends budgets in the shared store (Valkey, so
// all replicas count together) and, when that store cannot answer — down,
// full, slow — in Local, a fixed-size table in this process. A limit is never
// off: with the store gone each replica counts alone, so N replicas let at
// most N times a budget through.
package limiter

import (
	"context"
	"errors"
	"hash/maphash"
	"sync"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/loandesk/loandesk/internal/domain"
)

// Local is an in-process limiter whose memory does not depend on how many
// keys it sees: each key is hashed to one cell in each of two rows, and an
// event is allowed only if both of its cells allow it (a count-min sketch of
// GCRA cells, the algorithm the shared store runs). Keys that share a cell
// share a budget: a collision makes a limit stricter, never looser, and
// nothing is ever evicted to make room, so no key gets its budget back early.
//
// Hand-written because the libraries at hand keep one limiter per key
// (golang.org/x/time/rate behind a map or an LRU): bounded only by evicting
// keys, which hands an evicted key a fresh budget.
type Local struct {
	width int
	seeds [rows]maphash.Seed
	now   func() time.Time

	mu sync.Mutex
	// tables holds, per rate, rows×width theoretical arrival times (Unix
	// nanoseconds). Rates come from configuration, never from requests.
	tables map[domain.Rate][]int64
}

const rows = 2

// DefaultWidth cells per row: 2 × 16,384 × 8 bytes = 256 KiB per rate.
const DefaultWidth = 16384

// NewLocal returns a Local with width cells per row (DefaultWidth if ≤ 0).
func NewLocal(width int) *Local {
	if width <= 0 {
		width = DefaultWidth
	}
	l := &Local{width: width, now: time.Now, tables: map[domain.Rate][]int64{}}
	for i := range l.seeds {
		l.seeds[i] = maphash.MakeSeed()
	}
	return l
}

// Allow spends one event of key's budget at rate r, as domain.Limiter does.
func (l *Local) Allow(key string, r domain.Rate) (bool, time.Duration) {
	if r.Off() {
		return true, 0
	}
	interval := int64(r.Per) / int64(r.Events)
	offset := interval * int64(max(r.Burst, 1))
	var cells [rows]int
	for i, s := range l.seeds {
		cells[i] = i*l.width + int(maphash.String(s, key)%uint64(l.width))
	}
	now := l.now().UnixNano()
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.tables[r]
	if t == nil {
		t = make([]int64, rows*l.width)
		l.tables[r] = t
	}
	var wait int64
	for _, c := range cells {
		// GCRA: the event fits if the new arrival time stays within the
		// burst's reach of now.
		if w := max(t[c], now) + interval - offset - now; w > wait {
			wait = w
		}
	}
	if wait > 0 {
		return false, time.Duration(wait)
	}
	for _, c := range cells {
		t[c] = max(t[c], now) + interval
	}
	return true, 0
}

// Fallback is a domain.Limiter that never fails open: the shared store
// decides while it answers; Local decides when it does not. Local counts
// every event this replica lets through either way, so it is current the
// moment the store goes. The tolerance: with the store gone each replica
// counts alone (N replicas let at most N budgets through in a window), and a
// store that comes back empty starts a budget afresh (one more).
type Fallback struct {
	shared  domain.Limiter
	local   *Local
	breaker *gobreaker.CircuitBreaker[decision]
	// timeout bounds one answer of the store: a slow store costs every
	// request at most this long, then this process decides.
	timeout time.Duration
	// onFallback is told each time Local decided instead (metrics).
	onFallback func()
}

type decision struct {
	ok   bool
	wait time.Duration
}

// SharedTimeout bounds one answer of the shared store (an in-network
// Valkey answers in well under a millisecond).
const SharedTimeout = 250 * time.Millisecond

// NewFallback wraps shared. After three failures in a row (an error, or no
// answer within SharedTimeout) the store is not asked for two seconds,
// then one request tries it again.
func NewFallback(shared domain.Limiter, local *Local, onFallback func()) *Fallback {
	if onFallback == nil {
		onFallback = func() {}
	}
	return &Fallback{shared: shared, local: local, onFallback: onFallback, timeout: SharedTimeout,
		breaker: gobreaker.NewCircuitBreaker[decision](gobreaker.Settings{
			Name:        "limiter",
			Timeout:     2 * time.Second,
			ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= 3 },
			// A caller that hung up says nothing about the store.
			IsExcluded: func(err error) bool { return errors.Is(err, context.Canceled) },
		})}
}

// Allow implements domain.Limiter. It fails only when ctx ends.
func (f *Fallback) Allow(ctx context.Context, key string, r domain.Rate) (bool, time.Duration, error) {
	d, err := f.breaker.Execute(func() (decision, error) {
		sctx, cancel := context.WithTimeout(ctx, f.timeout)
		defer cancel()
		ok, wait, err := f.shared.Allow(sctx, key, r)
		return decision{ok, wait}, err
	})
	if err == nil {
		// The store decides (a Reset there, after a good login, counts).
		// What it lets through is spent here too, so Local is current
		// when the store goes; a refusal spends nothing.
		if d.ok {
			f.local.Allow(key, r)
		}
		return d.ok, d.wait, nil
	}
	if ctx.Err() != nil {
		return false, 0, ctx.Err()
	}
	f.onFallback()
	ok, wait := f.local.Allow(key, r)
	return ok, wait, nil
}

// Reset gives key its budget back in the shared store only: Local's cells
// may be shared with other keys, so they are never reset.
func (f *Fallback) Reset(ctx context.Context, key string) error {
	return f.shared.Reset(ctx, key)
}
