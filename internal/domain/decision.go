package domain

import (
	"context"
	"errors"
)

// IdentityVerdict is the identity provider's answer.
type IdentityVerdict struct {
	Match bool
}

// ScoreResult is the scoring provider's answer for an application.
type ScoreResult struct {
	Score    int
	Approved bool
	// NoHistory is the provider's "error": true — it cannot score this person.
	NoHistory bool
}

// IdentityChecker asks whether the document number belongs to the named
// person. Errors: EUNAVAILABLE (down, slow, breaker open: retry later),
// EPERMANENT (the provider refused the input: a person must look).
type IdentityChecker interface {
	VerifyIdentity(ctx context.Context, a Application) (IdentityVerdict, error)
}

// Scorer asks for a credit score and a verdict for the amount.
// Errors: as IdentityChecker.
type Scorer interface {
	Score(ctx context.Context, a Application) (ScoreResult, error)
}

// Decision is the outcome of asking both providers.
type Decision struct {
	Status Status
	Reason Reason
	Score  *int
}

// Decide asks identity and scoring concurrently and decides as soon as the
// answers allow it: an identity mismatch rejects, a score rejection rejects,
// approval needs both. The context's deadline bounds the whole decision.
//
// Errors: EUNAVAILABLE when a needed answer did not come (the request goes to
// the retry queue); EPERMANENT when a provider refused the input for good.
func Decide(ctx context.Context, id IdentityChecker, sc Scorer, a Application) (Decision, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the other call once the decision is known

	type idRes struct {
		v   IdentityVerdict
		err error
	}
	type scRes struct {
		v   ScoreResult
		err error
	}
	idc := make(chan idRes, 1)
	scc := make(chan scRes, 1)
	go func() { v, err := id.VerifyIdentity(ctx, a); idc <- idRes{v, err} }()
	go func() { v, err := sc.Score(ctx, a); scc <- scRes{v, err} }()

	var (
		idDone, scDone bool
		idv            IdentityVerdict
		scv            ScoreResult
		idErr, scErr   error
	)
	for !idDone || !scDone {
		select {
		case r := <-idc:
			idDone, idv, idErr = true, r.v, r.err
			if idErr == nil && !idv.Match {
				return Decision{Status: StatusRejected, Reason: ReasonIdentity}, nil
			}
		case r := <-scc:
			scDone, scv, scErr = true, r.v, r.err
		}
		// A score rejection decides only once identity cannot turn it into
		// an identity rejection, which would be the more useful reason.
		if scDone && scErr == nil && (!scv.Approved || scv.NoHistory) && idDone {
			return scoreRejection(scv), nil
		}
	}
	switch {
	case idErr == nil && scErr == nil:
		score := scv.Score
		if scv.Approved && !scv.NoHistory {
			return Decision{Status: StatusApproved, Reason: ReasonScore, Score: &score}, nil
		}
		return scoreRejection(scv), nil
	case scErr == nil && (!scv.Approved || scv.NoHistory):
		// Identity is unknown, but the score alone rejects.
		return scoreRejection(scv), nil
	}
	return Decision{}, worst(idErr, scErr)
}

func scoreRejection(s ScoreResult) Decision {
	d := Decision{Status: StatusRejected, Reason: ReasonScore}
	if !s.NoHistory {
		score := s.Score
		d.Score = &score
	}
	return d
}

// worst picks the error that decides what happens next: a permanent refusal
// needs a person, anything else is retried.
func worst(errs ...error) error {
	var unavailable error
	for _, err := range errs {
		if err == nil {
			continue
		}
		if ErrorCode(err) == EPERMANENT {
			return err
		}
		if unavailable == nil {
			unavailable = err
		}
	}
	if ErrorCode(unavailable) != EUNAVAILABLE {
		// Context expiry, transport failures and bugs all mean "not now".
		return errors.Join(Errorf(EUNAVAILABLE, "the external services could not answer in time"), unavailable)
	}
	return unavailable
}
