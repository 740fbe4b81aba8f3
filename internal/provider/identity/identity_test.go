package identity_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/loandesk/loandesk/internal/provider/identity"
)

// The stand-in answers by its own contract (api/identity.yaml), not by our
// domain's rules: what breaks the contract is refused, as the third party
// would; what the contract allows is answered.
func TestTheStandInKeepsItsContract(t *testing.T) {
	h := identity.Handler()
	post := func(body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "/api/v1/verifications", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec
	}
	if rec := post(`{"document_number":"30123950","full_name":"Ana Pérez","gender":"F"}`); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"match":true`) {
		t.Fatalf("a verification within the contract: %d %s", rec.Code, rec.Body)
	}
	if rec := post(`{"document_number":"99123950","full_name":"x","gender":"X"}`); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"match":false`) {
		t.Fatalf("somebody else's document: %d %s", rec.Code, rec.Body)
	}
	for _, bad := range []string{
		`{"document_number":"30.123.950","full_name":"Ana","gender":"F"}`, // the contract's pattern, not our normalization
		`{"document_number":"30123950","full_name":"Ana","gender":"Z"}`,
		`{"document_number":"30123950","full_name":"Ana"}`,
		`{"document_number":"30123950","full_name":"Ana","gender":"F","email":"a@b.co"}`,
		`not json`,
	} {
		if rec := post(bad); rec.Code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", bad, rec.Code)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/nothing", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("a path the contract does not have: %d, want 404", rec.Code)
	}
}
