// Package identity is our stand-in for a third-party identity registry
// (contract: api/identity.yaml). Its answer is a pure function of the input:
// a document number starting with 99 is registered to somebody else
// ("match": false); every other document matches the given name and gender.
package identity

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/loandesk/loandesk/api"
	"github.com/loandesk/loandesk/internal/provider"
)

// Verification is the request body.
type Verification struct {
	DocumentNumber string `json:"document_number"`
	FullName       string `json:"full_name"`
	Gender         string `json:"gender"`
}

// Result is the answer.
type Result struct {
	Match          bool   `json:"match"`
	DocumentNumber string `json:"document_number"`
}

// Match is the registry's rule.
func Match(document string) bool { return !strings.HasPrefix(document, "99") }

// Handler serves POST /api/v1/verifications and GET /healthz, every
// request checked against api/identity.yaml.
func Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		provider.WriteJSON(w, 200, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("POST /api/v1/verifications", func(w http.ResponseWriter, r *http.Request) {
		var v Verification // the contract checked it already
		if err := json.NewDecoder(r.Body).Decode(&v); err != nil {
			provider.WriteJSON(w, http.StatusBadRequest, map[string]any{"detail": "body must be a JSON object with document_number, full_name and gender"})
			return
		}
		provider.WriteJSON(w, http.StatusOK, Result{Match: Match(v.DocumentNumber), DocumentNumber: v.DocumentNumber})
	})
	return provider.Contract(api.Identity, mux)
}
