package scoring_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/loandesk/loandesk/internal/provider/scoring"
)

func TestEvaluateIsThePublishedRule(t *testing.T) {
	for _, tc := range []struct {
		doc    string
		amount int64
		want   scoring.Result
	}{
		{"30123999", 4_995_000, scoring.Result{Approved: true, Score: 999}},
		{"30123999", 4_995_001, scoring.Result{Approved: false, Score: 999}},
		{"30123400", 2_000_000, scoring.Result{Approved: true, Score: 400}},
		{"30123399", 10_000, scoring.Result{Approved: false, Score: 399}},
		{"30123000", 10_000, scoring.Result{Error: true}},
		{"1234567", 0, scoring.Result{Approved: true, Score: 567}},
	} {
		if got := scoring.Evaluate(tc.doc, tc.amount); got != tc.want {
			t.Errorf("Evaluate(%s, %d) = %+v, want %+v", tc.doc, tc.amount, got, tc.want)
		}
	}
}

func TestHandlerKeepsTheChallengeContract(t *testing.T) {
	h := scoring.Handler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/scoring/?document_number=30123950&gender=F&email=a@b.co", nil))
	var got map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if got["approved"] != true || got["error"] != false || got["score"] != float64(950) {
		t.Fatalf("answer = %v", got)
	}
	for _, q := range []string{"document_number=12&gender=F&email=a@b.co", "document_number=30123950&gender=Z&email=a@b.co", "document_number=30123950&gender=F&email=a@b.co&amount=-1"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/scoring/?"+q, nil))
		if rec.Code != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", q, rec.Code)
		}
	}
}
