// Package scoring is the client of the external credit-scoring service
// (contract: api/scoring.yaml).
package scoring

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/loandesk/loandesk/internal/client/resilient"
	"github.com/loandesk/loandesk/internal/domain"
)

// Client asks the scoring service for a score.
type Client struct{ c *resilient.Client }

// New wraps a resilient client configured for the scoring service.
func New(c *resilient.Client) *Client { return &Client{c: c} }

type answer struct {
	Approved *bool `json:"approved"`
	Error    *bool `json:"error"`
	Score    *int  `json:"score"`
}

// Check rejects answers that lack a field or hold an impossible score.
func (a *answer) Check() error {
	if a.Approved == nil || a.Error == nil {
		return errors.New(`"approved" and "error" are required`)
	}
	if !*a.Error && (a.Score == nil || *a.Score < 0 || *a.Score > 1000) {
		return errors.New(`"score" must be 0 to 1000`)
	}
	return nil
}

// Score implements domain.Scorer. The call is a read, so it is retried.
func (c *Client) Score(ctx context.Context, a domain.Application) (domain.ScoreResult, error) {
	q := url.Values{
		"document_number": {a.DocumentNumber},
		"gender":          {string(a.Gender)},
		"email":           {a.Email},
		"amount":          {strconv.FormatInt(a.Amount, 10)},
	}
	var ans answer
	if err := c.c.Do(ctx, http.MethodGet, "/api/v1/scoring/", q, nil, &ans); err != nil {
		return domain.ScoreResult{}, err
	}
	r := domain.ScoreResult{Approved: *ans.Approved, NoHistory: *ans.Error}
	if ans.Score != nil {
		r.Score = *ans.Score
	}
	return r, nil
}
