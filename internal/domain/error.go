package domain

import (
	"errors"
	"fmt"
)

// Code classifies an error for the edges: the HTTP API maps each code to a
// status in exactly one place, and anything without a code is "internal".
type Code string

const (
	EINVALID      Code = "invalid"      // the caller sent something wrong
	ENOTFOUND     Code = "not_found"    // no such thing (or not visible to the caller)
	ECONFLICT     Code = "conflict"     // valid, but clashes with the current state
	EUNAUTHORIZED Code = "unauthorized" // no valid session or bad credentials
	EFORBIDDEN    Code = "forbidden"    // authenticated, but not allowed (e.g. CSRF)
	ERATELIMITED  Code = "rate_limited" // too many attempts; retry later
	EUNAVAILABLE  Code = "unavailable"  // a dependency could not answer in time; retry later
	EPERMANENT    Code = "permanent"    // a dependency refused for good; a person must look
	EINTERNAL     Code = "internal"     // a bug or an unexpected failure; details are logged, not shown
)

// ErrCallerGone is the cause (context.Cause) of a context ended because the
// caller hung up: an edge that knows (the HTTP API) says so, and an adapter
// may then let work already under way finish rather than break it off
// mid-way (internal/postgres keeps its connection).
var ErrCallerGone = errors.New("the caller hung up")

// Error is the one error type the domain speaks. Message is safe to show to
// the caller; Fields holds per-field validation messages.
type Error struct {
	Code    Code
	Message string
	Fields  map[string]string
	// RetryAfter is a hint in seconds for ERATELIMITED and EUNAVAILABLE.
	RetryAfter int
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

// Errorf builds an *Error with a formatted, caller-safe message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, or EINTERNAL.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// AsError returns the *Error in err's chain, if any.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
