// Package lifecycle runs an HTTP server until its context ends, then drains
// it within a bound; and implements the `healthcheck` subcommand that the
// container images use (distroless has no shell or curl).
package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Serve runs srv on ln until ctx is done. Then it calls onDrain (readiness
// goes false), waits drainDelay so load balancers stop sending, and shuts the
// server down, giving in-flight requests until shutdownTimeout.
func Serve(ctx context.Context, log *slog.Logger, srv *http.Server, ln net.Listener, onDrain func(), drainDelay, shutdownTimeout time.Duration) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.InfoContext(ctx, "listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("draining", "delay", drainDelay.String())
	if onDrain != nil {
		onDrain()
	}
	time.Sleep(drainDelay)
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// WriteTimeout is how long the server has to answer a request.
const WriteTimeout = 15 * time.Second

// NewServer returns an http.Server that bounds every client by time and
// size, with nothing in front of it (on AWS the load balancer passes
// requests straight to it): all of a request's headers within 5 s, the
// whole request within 10 s, the answer within WriteTimeout (a filing waits
// at most DECISION_TIMEOUT for the providers, then a bounded save), headers
// at most 64 KiB. An idle connection is kept 75 s: longer than the ALB's 60,
// so the load balancer never reuses one the server is closing (its own 502).
// Bodies are bounded where they are read (64 KiB).
func NewServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       75 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// Healthcheck GETs url and fails unless it answers 2xx within 3 seconds.
func Healthcheck(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%s answered %d", url, resp.StatusCode)
	}
	return nil
}

// StartupWait bounds how long a starting process waits for a dependency.
const StartupWait = time.Minute

// WaitFor calls connect until it succeeds, every second for up to
// StartupWait, logging each failure: a process that starts while its
// database restarts comes up when the database does.
func WaitFor(ctx context.Context, log *slog.Logger, what string, connect func(context.Context) error) error {
	deadline := time.Now().Add(StartupWait)
	for {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := connect(cctx)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			return err
		}
		log.WarnContext(ctx, "waiting for "+what, "err", err)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Second):
		}
	}
}
