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

	"github.com/loandesk/loandesk/internal/domain"
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

// Handler serves GET /api/v1/scoring/ and GET /healthz.
func Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		provider.WriteJSON(w, 200, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /api/v1/scoring/", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		a := domain.Application{DocumentNumber: q.Get("document_number"), Gender: domain.Gender(q.Get("gender")), Email: q.Get("email"), FullName: "Scoring Query", Amount: domain.MinAmount}
		var amount int64
		if s := q.Get("amount"); s != "" {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil || n <= 0 {
				provider.WriteJSON(w, http.StatusBadRequest, map[string]any{"error": true, "detail": "amount must be a positive whole number"})
				return
			}
			amount = n
		}
		a.Normalize()
		if err := a.Validate(); err != nil {
			e, _ := domain.AsError(err)
			provider.WriteJSON(w, http.StatusBadRequest, map[string]any{"error": true, "detail": "invalid query", "fields": e.Fields})
			return
		}
		provider.WriteJSON(w, http.StatusOK, Evaluate(a.DocumentNumber, amount))
	})
	return mux
}
