package identity_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/loandesk/loandesk/internal/client/identity"
	"github.com/loandesk/loandesk/internal/client/resilient"
	"github.com/loandesk/loandesk/internal/domain"
	provider "github.com/loandesk/loandesk/internal/provider/identity"
)

func TestClientAgainstStandIn(t *testing.T) {
	srv := httptest.NewServer(provider.Handler())
	defer srv.Close()
	rc, err := resilient.New(resilient.Config{Service: "identity", BaseURL: srv.URL, AttemptTimeout: time.Second, BreakerFailures: 5, BreakerOpenFor: time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := identity.New(rc)
	for doc, want := range map[string]bool{"30123950": true, "99123950": false, "9912345": false, "1234567": true} {
		v, err := c.VerifyIdentity(context.Background(), domain.Application{FullName: "Ana Test", DocumentNumber: doc, Gender: "X"})
		if err != nil {
			t.Fatalf("VerifyIdentity(%s): %v", doc, err)
		}
		if v.Match != want {
			t.Errorf("VerifyIdentity(%s).Match = %v, want %v", doc, v.Match, want)
		}
	}
}
