package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/loandesk/loandesk/internal/domain"
)

const maxBody = 64 << 10

func jsonEncode(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true) // user text stays inert even if someone renders the raw JSON as HTML
	return enc.Encode(v)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = jsonEncode(w, v)
}

// decode reads one JSON object into v, refusing unknown fields, a wrong
// content type, trailing data and bodies over 64 KiB, with caller-safe
// messages (EINVALID).
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return domain.Errorf(domain.EINVALID, "Content-Type must be application/json")
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if dec.More() {
		return domain.Errorf(domain.EINVALID, "the body must hold a single JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return domain.Errorf(domain.EINVALID, "the body must hold a single JSON object")
	}
	return nil
}

func decodeError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var big *http.MaxBytesError
	switch {
	case errors.As(err, &big):
		return domain.Errorf(domain.EINVALID, "the body must be at most 64 KiB")
	case errors.As(err, &syn), errors.Is(err, io.ErrUnexpectedEOF):
		return domain.Errorf(domain.EINVALID, "the body is not valid JSON")
	case errors.Is(err, io.EOF):
		return domain.Errorf(domain.EINVALID, "the body is empty; send a JSON object")
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return domain.Errorf(domain.EINVALID, "the body must be a JSON object")
		}
		return &domain.Error{Code: domain.EINVALID, Message: "a field has the wrong type", Fields: map[string]string{field: "has the wrong type"}}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &domain.Error{Code: domain.EINVALID, Message: "the body has an unknown field", Fields: map[string]string{name: "is not a known field"}}
	}
	return domain.Errorf(domain.EINVALID, "the body could not be read")
}
