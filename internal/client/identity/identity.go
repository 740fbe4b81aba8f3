// Package identity is the client of the external identity service
// (contract: api/identity.yaml).
package identity

import (
	"context"
	"errors"
	"net/http"

	"github.com/loandesk/loandesk/internal/client/resilient"
	"github.com/loandesk/loandesk/internal/domain"
)

// Client asks the identity service whether a document belongs to a person.
type Client struct{ c *resilient.Client }

// New wraps a resilient client configured for the identity service.
func New(c *resilient.Client) *Client { return &Client{c: c} }

type query struct {
	DocumentNumber string `json:"document_number"`
	FullName       string `json:"full_name"`
	Gender         string `json:"gender"`
}

type answer struct {
	Match *bool `json:"match"`
}

// Check rejects answers without a verdict.
func (a *answer) Check() error {
	if a.Match == nil {
		return errors.New(`"match" is required`)
	}
	return nil
}

// VerifyIdentity implements domain.IdentityChecker. A verification is a pure
// query (POST only to keep personal data out of URLs and logs), so retrying
// it is safe.
func (c *Client) VerifyIdentity(ctx context.Context, a domain.Application) (domain.IdentityVerdict, error) {
	var ans answer
	q := query{DocumentNumber: a.DocumentNumber, FullName: a.FullName, Gender: string(a.Gender)}
	if err := c.c.Do(ctx, http.MethodPost, "/api/v1/verifications", nil, q, &ans); err != nil {
		return domain.IdentityVerdict{}, err
	}
	return domain.IdentityVerdict{Match: *ans.Match}, nil
}
