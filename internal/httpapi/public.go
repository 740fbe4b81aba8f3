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
// json.Number so that 10000.5 or "abc" become a field message, not a 500.
type applicationInput struct {
	FullName       string      `json:"full_name"`
	Email          string      `json:"email"`
	DocumentNumber string      `json:"document_number"`
	Gender         string      `json:"gender"`
	Amount         json.Number `json:"amount"`
}

func (in applicationInput) application() (domain.Application, error) {
	a := domain.Application{FullName: in.FullName, Email: in.Email, DocumentNumber: in.DocumentNumber, Gender: domain.Gender(in.Gender)}
	n, err := strconv.ParseInt(string(in.Amount), 10, 64)
	if err != nil {
		// Let Validate report every other field too, then replace its amount message.
		a.Normalize()
		e, _ := domain.AsError(a.Validate())
		if e == nil {
			e = &domain.Error{Code: domain.EINVALID, Message: "the request has invalid fields", Fields: map[string]string{}}
		}
		e.Fields["amount"] = "must be a whole number of pesos from 10000 to 5000000"
		return a, e
	}
	a.Amount = n
	return a, nil
}

func handleSubmit(cfg Config) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if cfg.SubmitLimit > 0 {
			n, ttl, err := cfg.Counter.Incr(ctx, "submit:"+clientIP(r, cfg.ClientIPHeader), cfg.SubmitWindow)
			if err != nil {
				cfg.Log.WarnContext(ctx, "rate limiter unavailable; letting the request through", "err", err)
			} else if n > cfg.SubmitLimit {
				writeError(w, r, cfg.Log, &domain.Error{Code: domain.ERATELIMITED, Message: "too many requests from your address; try again later", RetryAfter: max(1, int(ttl.Seconds()))})
				return
			}
		}
		var in applicationInput
		if err := decode(w, r, &in); err != nil {
			writeError(w, r, cfg.Log, err)
			return
		}
		a, err := in.application()
		if err != nil {
			writeError(w, r, cfg.Log, err)
			return
		}
		res, err := cfg.Desk.Submit(ctx, r.Header.Get("Idempotency-Key"), a)
		if err != nil {
			writeError(w, r, cfg.Log, err)
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
