package httpapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/loandesk/loandesk/internal/domain"
)

// applicationInput is the body of POST /api/v1/requests. The amount stays a
// json.Number so that 10000.5 becomes the domain's amount message, not a
// type error.
type applicationInput struct {
	FullName       string      `json:"full_name"`
	Email          string      `json:"email"`
	DocumentNumber string      `json:"document_number"`
	Gender         string      `json:"gender"`
	Amount         json.Number `json:"amount"`
}

// application converts types only; the domain validates. An amount that is
// not a whole number becomes -1, which the domain refuses with its message.
func (in applicationInput) application() domain.Application {
	n, err := strconv.ParseInt(string(in.Amount), 10, 64)
	if err != nil {
		n = -1
	}
	return domain.Application{FullName: in.FullName, Email: in.Email, DocumentNumber: in.DocumentNumber,
		Gender: domain.Gender(in.Gender), Amount: n}
}

func handleSubmit(desk Desk, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in applicationInput
		if err := decode(w, r, &in); err != nil {
			writeError(w, r, log, err)
			return
		}
		res, err := desk.Submit(r.Context(), r.Header.Get("Idempotency-Key"), in.application())
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		if res.Replayed {
			w.Header().Set("Idempotent-Replayed", "true")
		}
		w.Header().Set("Location", "/api/v1/requests/"+res.Receipt.TrackingCode)
		writeJSON(w, http.StatusCreated, res.Receipt)
	})
}

func handleTrack(desk Desk, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec, err := desk.Track(r.Context(), r.PathValue("tracking_code"))
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		writeJSON(w, http.StatusOK, rec)
	})
}

func handleSpec(spec []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		_, _ = w.Write(spec)
	})
}

func handleHealthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
}

func handleReadyz(ready func(context.Context) error, draining *atomic.Bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if draining.Load() {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "draining"})
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := ready(ctx); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "detail": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
}
