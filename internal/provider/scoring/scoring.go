// Package scoring is our stand-in for a third-party credit-scoring service.
// It keeps the challenge's contract (api/scoring.yaml) and answers with a
// pure function of its input, so tests can choose the outcome:
//
//   - score = the last three digits of the document number (0–999);
//   - a document ending in 000 has no credit history: "error": true;
//   - approved when score ≥ 400 and, if an amount is given, amount ≤ score × 5,000.
package scoring

import (
	"net/http"
	"strconv"

	"github.com/loandesk/loandesk/api"
	"github.com/loandesk/loandesk/internal/provider"
)

// Rules of the stand-in, exported for the tests that pick inputs.
const (
	MinApprovedScore = 400
	PesosPerPoint    = 5000
)

// Result is the scoring answer.
type Result struct {
	Approved bool `json:"approved"`
	Error    bool `json:"error"`
	Score    int  `json:"score"`
}

// Evaluate is the scoring function.
func Evaluate(document string, amount int64) Result {
	score, _ := strconv.Atoi(document[len(document)-3:])
	if document[len(document)-3:] == "000" {
		return Result{Error: true}
	}
	approved := score >= MinApprovedScore && (amount == 0 || amount <= int64(score)*PesosPerPoint)
	return Result{Approved: approved, Score: score}
}

// Handler serves GET /api/v1/scoring/ and GET /healthz, every request
// checked against api/scoring.yaml.
func Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		provider.WriteJSON(w, 200, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /api/v1/scoring/", func(w http.ResponseWriter, r *http.Request) {
		// The contract checked the query: 7 or 8 digits, a gender, an
		// email, an amount of at least 1 if any.
		q := r.URL.Query()
		amount, _ := strconv.ParseInt(q.Get("amount"), 10, 64)
		provider.WriteJSON(w, http.StatusOK, Evaluate(q.Get("document_number"), amount))
	})
	return provider.Contract(api.Scoring, mux)
}
