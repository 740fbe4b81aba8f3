package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/loandesk/loandesk/internal/domain"
	"github.com/loandesk/loandesk/internal/obs"
)

// statusOf is the one table from domain error codes to HTTP statuses.
var statusOf = map[domain.Code]int{
	domain.EINVALID:      http.StatusBadRequest,
	domain.ENOTFOUND:     http.StatusNotFound,
	domain.ECONFLICT:     http.StatusConflict,
	domain.EUNAUTHORIZED: http.StatusUnauthorized,
	domain.EFORBIDDEN:    http.StatusForbidden,
	domain.ERATELIMITED:  http.StatusTooManyRequests,
	domain.EUNAVAILABLE:  http.StatusServiceUnavailable,
	domain.EPERMANENT:    http.StatusBadGateway,
	domain.EINTERNAL:     http.StatusInternalServerError,
}

// statusClientClosed is nginx's name for a request whose client went away.
const statusClientClosed = 499

// Problem is an RFC 9457 problem details object.
type Problem struct {
	Type      string            `json:"type"`
	Title     string            `json:"title"`
	Status    int               `json:"status"`
	Detail    string            `json:"detail,omitempty"`
	Instance  string            `json:"instance,omitempty"`
	Code      domain.Code       `json:"code"`
	RequestID string            `json:"request_id,omitempty"`
	Errors    map[string]string `json:"errors,omitempty"`
}

// writeError answers err as problem+json. It is the only place that logs
// internal errors and the causes of 503s, and it never shows their details
// to the caller.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	if (errors.Is(err, context.Canceled) && r.Context().Err() != nil) || errors.Is(context.Cause(r.Context()), domain.ErrCallerGone) {
		// The caller hung up: nobody to answer, nothing to report. 499 (as
		// nginx counts it) keeps it out of the server's errors — also when
		// the database, left to finish, answered something else meanwhile
		// (57014 for a statement it cancelled is not the server failing).
		w.WriteHeader(statusClientClosed)
		return
	}
	code := domain.ErrorCode(err)
	status, ok := statusOf[code]
	if !ok {
		code, status = domain.EINTERNAL, http.StatusInternalServerError
	}
	p := Problem{
		Type: "urn:loandesk:problem:" + string(code), Title: http.StatusText(status), Status: status,
		Instance: r.URL.Path, Code: code, RequestID: obs.RequestID(r.Context()),
	}
	if e, ok := domain.AsError(err); ok && code != domain.EINTERNAL {
		p.Detail, p.Errors = e.Message, e.Fields
		if e.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
		}
	} else {
		p.Detail = "an unexpected error occurred; quote the request id if you report it"
		// The route's pattern and the method's label: nothing the client
		// wrote (the path may hold a search, an id).
		log.ErrorContext(r.Context(), "internal error", "method", obs.Method(r.Method), "route", r.Pattern, "err", err)
	}
	if code == domain.EUNAVAILABLE {
		if w.Header().Get("Retry-After") == "" {
			w.Header().Set("Retry-After", "5")
		}
		// Why a 503: the request line says only its status, and a
		// statement timeout, a lost primary and an open breaker need
		// different remedies. Only where a dependency said something: a
		// bare domain error (a shed request, a claim still in progress)
		// says all in its message, and an overload is no time to double
		// the log.
		if _, bare := err.(*domain.Error); !bare {
			log.WarnContext(r.Context(), "unavailable", "method", obs.Method(r.Method), "route", r.Pattern, "err", err)
		}
	}
	writeProblem(w, p)
}

func writeProblem(w http.ResponseWriter, p Problem) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_ = jsonEncode(w, p)
}
