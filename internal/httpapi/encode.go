package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"
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

// decode reads one JSON object into v (a pointer to a struct), refusing
// unknown, duplicate or case-variant keys, a wrong content type, trailing
// data and bodies over 64 KiB, with caller-safe messages (EINVALID).
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return domain.Errorf(domain.EINVALID, "Content-Type must be application/json")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		return decodeError(err)
	}
	// encoding/json matches keys case-insensitively and lets the last of
	// two equal keys win: {"amount":1,"AMOUNT":2} would be read in a way a
	// proxy, a log or a WAF in front may not read it. Only exact keys, once.
	if err := checkKeys(body, v); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
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

// checkKeys refuses a top-level key that is not exactly one of v's JSON
// field names, or that appears twice. Anything that is not an object is left
// for the decoder to report.
func checkKeys(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	known := fieldNames(v)
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil
		}
		key, _ := t.(string)
		if seen[key] {
			return &domain.Error{Code: domain.EINVALID, Message: "the body repeats a key", Fields: map[string]string{key: "appears more than once"}}
		}
		seen[key] = true
		if !known[key] {
			return &domain.Error{Code: domain.EINVALID, Message: "the body has an unknown field", Fields: map[string]string{key: "is not a known field (names are case-sensitive)"}}
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil
		}
	}
	return nil
}

// fieldNames are the exact JSON names of the fields of the struct v points to.
func fieldNames(v any) map[string]bool {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	names := map[string]bool{}
	if t.Kind() != reflect.Struct {
		return names
	}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		names[name] = true
	}
	return names
}
