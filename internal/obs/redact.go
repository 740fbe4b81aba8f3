package obs

import (
	"context"
	"net/url"
	"regexp"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// redactingExporter is the last stop of every span before it leaves the
// process, whichever library made it: a URL anywhere — an attribute, an
// event's (an exception's message), the status — keeps its path but loses
// its query (the scoring API takes the DNI and email in it), and attributes
// that hold what a client or a database sent — raw queries, statements of
// key-value stores, header values, a method nobody knows — are dropped.
// The instrumentations are also told not to record those (redisotel without
// statements), so this is the guard for what a library adds later.
type redactingExporter struct{ sdktrace.SpanExporter }

// dropped are attribute keys that can carry personal data or client input.
var dropped = map[attribute.Key]bool{
	"url.query":                    true,
	"http.request.method_original": true,
	"http.url":                     true, // the old name of url.full: not used by our libraries
}

func (e redactingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	out := make([]sdktrace.ReadOnlySpan, len(spans))
	for i, s := range spans {
		events := make([]sdktrace.Event, len(s.Events()))
		for j, ev := range s.Events() {
			ev.Attributes = redactAttrs(ev.Attributes)
			events[j] = ev
		}
		status := s.Status()
		status.Description = urlQueries.ReplaceAllString(status.Description, "$1")
		out[i] = redactedSpan{s, redactAttrs(s.Attributes()), events, status}
	}
	return e.SpanExporter.ExportSpans(ctx, out)
}

// redactedSpan is a span with other attributes, events and status;
// everything else is its own.
type redactedSpan struct {
	sdktrace.ReadOnlySpan
	attrs  []attribute.KeyValue
	events []sdktrace.Event
	status sdktrace.Status
}

func (s redactedSpan) Attributes() []attribute.KeyValue { return s.attrs }
func (s redactedSpan) Events() []sdktrace.Event         { return s.events }
func (s redactedSpan) Status() sdktrace.Status          { return s.status }

// urlQueries finds the query (and fragment) of every http(s) URL in a text.
var urlQueries = regexp.MustCompile(`(https?://[^\s?#"'<>]*)[?#][^\s"'<>]*`)

func redactAttrs(in []attribute.KeyValue) []attribute.KeyValue {
	kv := in[:0:0]
	keyValueStore := false
	for _, a := range in {
		if a.Key == "db.system" || a.Key == "db.system.name" {
			switch a.Value.AsString() {
			case "redis", "valkey":
				keyValueStore = true
			}
		}
	}
	for _, a := range in {
		switch {
		case dropped[a.Key], strings.HasPrefix(string(a.Key), "http.request.header."),
			strings.HasPrefix(string(a.Key), "http.response.header."):
			continue
		case keyValueStore && (a.Key == "db.statement" || a.Key == "db.query.text"):
			continue
		case a.Key == "url.full":
			kv = append(kv, attribute.String("url.full", withoutQuery(a.Value.AsString())))
			continue
		case a.Value.Type() == attribute.STRING:
			kv = append(kv, attribute.String(string(a.Key), urlQueries.ReplaceAllString(a.Value.AsString(), "$1")))
			continue
		}
		kv = append(kv, a)
	}
	return kv
}

// withoutQuery keeps scheme, host and path; an unreadable URL is dropped
// whole rather than guessed at.
func withoutQuery(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}
