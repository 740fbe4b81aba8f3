package domain_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/loandesk/loandesk/internal/domain"
)

// Function-field mocks, with compile-time checks.
type identityMock struct {
	fn func(ctx context.Context, a domain.Application) (domain.IdentityVerdict, error)
}

func (m identityMock) VerifyIdentity(ctx context.Context, a domain.Application) (domain.IdentityVerdict, error) {
	return m.fn(ctx, a)
}

type scorerMock struct {
	fn func(ctx context.Context, a domain.Application) (domain.ScoreResult, error)
}

func (m scorerMock) Score(ctx context.Context, a domain.Application) (domain.ScoreResult, error) {
	return m.fn(ctx, a)
}

var (
	_ domain.IdentityChecker = identityMock{}
	_ domain.Scorer          = scorerMock{}
)

func idAnswer(match bool, err error) identityMock {
	return identityMock{func(context.Context, domain.Application) (domain.IdentityVerdict, error) {
		return domain.IdentityVerdict{Match: match}, err
	}}
}

func scoreAnswer(r domain.ScoreResult, err error) scorerMock {
	return scorerMock{func(context.Context, domain.Application) (domain.ScoreResult, error) { return r, err }}
}

// hang blocks until the context ends, like a provider that does not answer.
func hangID() identityMock {
	return identityMock{func(ctx context.Context, _ domain.Application) (domain.IdentityVerdict, error) {
		<-ctx.Done()
		return domain.IdentityVerdict{}, ctx.Err()
	}}
}

func hangScore() scorerMock {
	return scorerMock{func(ctx context.Context, _ domain.Application) (domain.ScoreResult, error) {
		<-ctx.Done()
		return domain.ScoreResult{}, ctx.Err()
	}}
}

var (
	down      = &domain.Error{Code: domain.EUNAVAILABLE, Message: "down"}
	refused   = &domain.Error{Code: domain.EPERMANENT, Message: "refused"}
	approved  = domain.ScoreResult{Score: 900, Approved: true}
	lowScore  = domain.ScoreResult{Score: 120, Approved: false}
	noHistory = domain.ScoreResult{NoHistory: true}
)

func TestDecide(t *testing.T) {
	for _, tc := range []struct {
		name     string
		id       domain.IdentityChecker
		sc       domain.Scorer
		want     domain.Decision
		wantCode domain.Code
	}{
		{"both approve", idAnswer(true, nil), scoreAnswer(approved, nil), domain.Decision{Status: domain.StatusApproved, Reason: domain.ReasonScore}, ""},
		{"identity mismatch wins over approval", idAnswer(false, nil), scoreAnswer(approved, nil), domain.Decision{Status: domain.StatusRejected, Reason: domain.ReasonIdentity}, ""},
		{"identity mismatch while scoring hangs", idAnswer(false, nil), hangScore(), domain.Decision{Status: domain.StatusRejected, Reason: domain.ReasonIdentity}, ""},
		{"identity mismatch while scoring is down", idAnswer(false, nil), scoreAnswer(domain.ScoreResult{}, down), domain.Decision{Status: domain.StatusRejected, Reason: domain.ReasonIdentity}, ""},
		{"low score", idAnswer(true, nil), scoreAnswer(lowScore, nil), domain.Decision{Status: domain.StatusRejected, Reason: domain.ReasonScore}, ""},
		{"no credit history", idAnswer(true, nil), scoreAnswer(noHistory, nil), domain.Decision{Status: domain.StatusRejected, Reason: domain.ReasonScore}, ""},
		{"low score while identity is down", idAnswer(false, down), scoreAnswer(lowScore, nil), domain.Decision{Status: domain.StatusRejected, Reason: domain.ReasonScore}, ""},
		{"approval needs identity", idAnswer(false, down), scoreAnswer(approved, nil), domain.Decision{}, domain.EUNAVAILABLE},
		{"approval needs identity (hangs)", hangID(), scoreAnswer(approved, nil), domain.Decision{}, domain.EUNAVAILABLE},
		{"scoring down", idAnswer(true, nil), scoreAnswer(domain.ScoreResult{}, down), domain.Decision{}, domain.EUNAVAILABLE},
		{"both hang", hangID(), hangScore(), domain.Decision{}, domain.EUNAVAILABLE},
		{"plain error is unavailable", idAnswer(true, nil), scoreAnswer(domain.ScoreResult{}, errors.New("dial tcp: refused")), domain.Decision{}, domain.EUNAVAILABLE},
		{"refusal needs a person", idAnswer(true, nil), scoreAnswer(domain.ScoreResult{}, refused), domain.Decision{}, domain.EPERMANENT},
		{"refusal beats outage", idAnswer(false, refused), scoreAnswer(domain.ScoreResult{}, down), domain.Decision{}, domain.EPERMANENT},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			got, err := domain.Decide(ctx, tc.id, tc.sc, valid())
			if code := domain.ErrorCode(err); code != tc.wantCode {
				t.Fatalf("err = %v (code %q), want code %q", err, code, tc.wantCode)
			}
			if got.Status != tc.want.Status || got.Reason != tc.want.Reason {
				t.Fatalf("Decide() = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestDecideStopsTheOtherCallOnceDecided(t *testing.T) {
	stopped := make(chan struct{})
	sc := scorerMock{func(ctx context.Context, _ domain.Application) (domain.ScoreResult, error) {
		<-ctx.Done()
		close(stopped)
		return domain.ScoreResult{}, ctx.Err()
	}}
	if _, err := domain.Decide(context.Background(), idAnswer(false, nil), sc, valid()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-stopped:
	case <-time.After(time.Second):
		t.Fatal("scoring call was not cancelled after identity decided")
	}
}

func TestDecideRunsBothCallsConcurrently(t *testing.T) {
	// Each call waits for the other to have started: run one after the
	// other, the first would give up and the decision would fail.
	idStarted, scStarted := make(chan struct{}), make(chan struct{})
	waitFor := func(ch chan struct{}) error {
		select {
		case <-ch:
			return nil
		case <-time.After(2 * time.Second):
			return errors.New("the other call never started")
		}
	}
	id := identityMock{func(context.Context, domain.Application) (domain.IdentityVerdict, error) {
		close(idStarted)
		return domain.IdentityVerdict{Match: true}, waitFor(scStarted)
	}}
	sc := scorerMock{func(context.Context, domain.Application) (domain.ScoreResult, error) {
		close(scStarted)
		return approved, waitFor(idStarted)
	}}
	d, err := domain.Decide(context.Background(), id, sc, valid())
	if err != nil || d.Status != domain.StatusApproved {
		t.Fatalf("Decide() = %+v, %v: the calls did not run concurrently", d, err)
	}
}
