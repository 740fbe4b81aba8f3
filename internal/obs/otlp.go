package obs

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// otlpHTTP is an otlptrace.Client that POSTs spans as OTLP/HTTP protobuf.
// The SDK's otlptracehttp does the same, but its collector package links
// gRPC and grpc-gateway (about 12 MB of binary for a transport we do not
// use); TracesData has the wire format of ExportTraceServiceRequest.
type otlpHTTP struct {
	url     string
	headers map[string]string
	http    *http.Client
}

var _ otlptrace.Client = (*otlpHTTP)(nil)

// newOTLPHTTP reads the standard variables: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
// (the full URL) or OTEL_EXPORTER_OTLP_ENDPOINT (a base; /v1/traces is
// appended), and OTEL_EXPORTER_OTLP_HEADERS (k=v,k2=v2).
func newOTLPHTTP(getenv func(string) string) (*otlpHTTP, error) {
	endpoint := getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
	name := "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	if endpoint == "" {
		name = "OTEL_EXPORTER_OTLP_ENDPOINT"
		endpoint = strings.TrimSuffix(getenv(name), "/") + "/v1/traces"
	}
	if u, err := url.Parse(endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%s=%q is not an http(s) URL", name, endpoint)
	}
	c := &otlpHTTP{url: endpoint, headers: map[string]string{}, http: &http.Client{Timeout: 10 * time.Second}}
	for _, kv := range strings.Split(getenv("OTEL_EXPORTER_OTLP_HEADERS"), ",") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			k, _ = url.QueryUnescape(strings.TrimSpace(k))
			v, _ = url.QueryUnescape(strings.TrimSpace(v))
			c.headers[k] = v
		}
	}
	return c, nil
}

func (c *otlpHTTP) Start(context.Context) error { return nil }
func (c *otlpHTTP) Stop(context.Context) error  { return nil }

func (c *otlpHTTP) UploadTraces(ctx context.Context, spans []*tracepb.ResourceSpans) error {
	body, err := proto.Marshal(&tracepb.TracesData{ResourceSpans: spans})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	for k, v := range c.headers {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("OTLP export to %s: %s", c.url, resp.Status)
	}
	return nil
}
