package scoring_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/loandesk/loandesk/internal/client/resilient"
	"github.com/loandesk/loandesk/internal/client/scoring"
	"github.com/loandesk/loandesk/internal/domain"
	provider "github.com/loandesk/loandesk/internal/provider/scoring"
)

// The client against the real stand-in handler: the contract both sides keep.
func TestClientAgainstStandIn(t *testing.T) {
	srv := httptest.NewServer(provider.Handler())
	defer srv.Close()
	rc, err := resilient.New(resilient.Config{Service: "scoring", BaseURL: srv.URL, AttemptTimeout: time.Second, BreakerFailures: 5, BreakerOpenFor: time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := scoring.New(rc)
	for _, tc := range []struct {
		doc       string
		amount    int64
		approved  bool
		noHistory bool
		score     int
	}{
		{"30123950", 100000, true, false, 950},
		{"30123950", 4800000, false, false, 950}, // over 950 × 5000
		{"30123120", 20000, false, false, 120},
		{"30123000", 20000, false, true, 0},
	} {
		a := domain.Application{FullName: "Ana Test", Email: "ana@example.com", DocumentNumber: tc.doc, Gender: "F", Amount: tc.amount}
		r, err := c.Score(context.Background(), a)
		if err != nil {
			t.Fatalf("Score(%s): %v", tc.doc, err)
		}
		if r.Approved != tc.approved || r.NoHistory != tc.noHistory || r.Score != tc.score {
			t.Errorf("Score(%s, %d) = %+v", tc.doc, tc.amount, r)
		}
	}
}

func TestClientRefusedInputIsPermanent(t *testing.T) {
	srv := httptest.NewServer(provider.Handler())
	defer srv.Close()
	rc, _ := resilient.New(resilient.Config{Service: "scoring", BaseURL: srv.URL, AttemptTimeout: time.Second, BreakerFailures: 5, BreakerOpenFor: time.Second}, nil)
	_, err := scoring.New(rc).Score(context.Background(), domain.Application{DocumentNumber: "12", Gender: "F", Email: "a@b.co"})
	if domain.ErrorCode(err) != domain.EPERMANENT {
		t.Fatalf("err = %v, want EPERMANENT", err)
	}
}
