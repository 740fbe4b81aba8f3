package domain

import (
	"context"
	"time"
)

// Rate is a budget of Events per Per, of which up to Burst may be spent at
// once (a generic cell rate: the budget refills evenly, one event every
// Per/Events).
type Rate struct {
	Events int
	Per    time.Duration
	Burst  int
}

// PerMinute is n events a minute, all of them at once if need be.
func PerMinute(n int) Rate { return Rate{Events: n, Per: time.Minute, Burst: n} }

// Off reports whether the rate limits nothing.
func (r Rate) Off() bool { return r.Events <= 0 }

// Limiter spends budgets kept per key. It is the one limiter behind every
// limit of LoanDesk (filings per address, logins per account and address).
type Limiter interface {
	// Allow spends one event of key's budget at rate r. When the budget is
	// spent it returns allowed=false and how long until the next event fits.
	// Errors: EUNAVAILABLE (the limiter's store cannot answer).
	Allow(ctx context.Context, key string, r Rate) (allowed bool, retryAfter time.Duration, err error)
	// Reset gives key its whole budget back.
	Reset(ctx context.Context, key string) error
}

// RetryAfterSeconds rounds a wait up to whole seconds, at least one, for a
// Retry-After header.
func RetryAfterSeconds(d time.Duration) int {
	return max(1, int((d+time.Second-1)/time.Second))
}
