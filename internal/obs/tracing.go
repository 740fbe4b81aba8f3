package obs

import (
	"context"
	"errors"
	"log/slog"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// SetupTracing makes OpenTelemetry export spans over OTLP/HTTP (protobuf)
// when OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is
// set, with OTEL_EXPORTER_OTLP_HEADERS if given.
// Otherwise the global provider stays OpenTelemetry's no-op one: spans are
// not recorded, so tracing costs next to nothing. The W3C trace context is
// propagated to the providers and into queued jobs; baggage is not (LoanDesk
// uses none, and must not forward a caller's). Every span passes through
// redactingExporter on its way out.
// The returned function flushes and stops the exporter.
func SetupTracing(ctx context.Context, service, version string, getenv func(string) string, log *slog.Logger) (func(context.Context) error, error) {
	otel.SetTextMapPropagator(propagation.TraceContext{})
	if getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
		return func(context.Context) error { return nil }, nil
	}
	client, err := newOTLPHTTP(getenv)
	if err != nil {
		return nil, err
	}
	exp, err := otlptrace.New(ctx, client)
	if err != nil {
		return nil, err
	}
	res, err := resource.Merge(resource.Default(), resource.NewWithAttributes(semconv.SchemaURL,
		semconv.ServiceName(service), semconv.ServiceVersion(version)))
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		return nil, err
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(redactingExporter{exp}), sdktrace.WithResource(res))
	otel.SetTracerProvider(tp)
	log.Info("tracing: exporting spans over OTLP/HTTP", "service", service)
	return tp.Shutdown, nil
}

// TraceID returns the trace id of the span in ctx, or "" when there is no
// recorded trace (tracing off).
func TraceID(ctx context.Context) string {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() && sc.IsSampled() {
		return sc.TraceID().String()
	}
	return ""
}
