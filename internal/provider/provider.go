// Package provider runs the stand-ins for the two external services
// (subpackages scoring and identity): the same flags, configuration, fault
// injection, logging and shutdown for both.
package provider

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/helpers"

	"github.com/loandesk/loandesk/internal/lifecycle"
	"github.com/loandesk/loandesk/internal/obs"
	"github.com/loandesk/loandesk/internal/provider/fault"
)

// Run is the main of a stand-in: `NAME [serve]` serves on LISTEN_ADDR
// (default defaultAddr) with the faults from FAULT_*; `NAME healthcheck`
// probes a running one.
func Run(ctx context.Context, name, defaultAddr string, h http.Handler, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	addr := getenv("LISTEN_ADDR")
	if addr == "" {
		addr = defaultAddr
	}
	cmd := "serve"
	if len(args) > 1 {
		cmd = args[1]
	}
	switch cmd {
	case "healthcheck":
		fs := flag.NewFlagSet(name+" healthcheck", flag.ContinueOnError)
		fs.SetOutput(stderr)
		_, port, _ := net.SplitHostPort(addr)
		url := fs.String("url", "http://127.0.0.1:"+port+"/healthz", "URL to probe")
		if err := fs.Parse(args[2:]); err != nil {
			return err
		}
		return lifecycle.Healthcheck(ctx, *url)
	case "serve":
	default:
		return fmt.Errorf("unknown command %q: want serve or healthcheck", cmd)
	}
	level := getenv("LOG_LEVEL")
	if level == "" {
		level = "info"
	}
	if !obs.ParseLevel(level) {
		return fmt.Errorf("LOG_LEVEL=%q: want debug, info, warn or error", level)
	}
	faults, err := fault.FromEnv(getenv)
	if err != nil {
		return err
	}
	log := obs.NewLogger(stdout, level, name)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("LISTEN_ADDR=%q: %w", addr, err)
	}
	control := false
	if v := getenv("FAULT_CONTROL"); v != "" {
		if control, err = strconv.ParseBool(v); err != nil {
			return fmt.Errorf("FAULT_CONTROL=%q: want true or false", v)
		}
	}
	log.Info("faults", "latency", faults.Latency.String(), "error_rate", faults.ErrorRate, "down", faults.Down, "control", control)
	inj := fault.NewInjector(faults)
	handler := inj.Wrap(h)
	if control {
		mux := http.NewServeMux()
		mux.Handle("/_fault", inj.Control())
		mux.Handle("/", handler)
		handler = mux
	}
	srv := lifecycle.NewServer(logRequests(log, handler), log)
	return lifecycle.Serve(ctx, log, srv, ln, nil, 0, 5*time.Second)
}

func logRequests(log interface {
	InfoContext(context.Context, string, ...any)
}, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if id := r.Header.Get("X-Request-Id"); obs.ValidRequestID(id) {
			ctx = obs.WithRequestID(ctx, id)
		}
		start := time.Now()
		h.ServeHTTP(w, r.WithContext(ctx))
		if r.URL.Path != "/healthz" {
			log.InfoContext(ctx, "request", "method", r.Method, "path", r.URL.Path, "duration_ms", time.Since(start).Milliseconds())
		}
	})
}

// Contract serves h behind spec: a request that breaks the contract (a
// parameter, a body) gets 400 with what is wrong, as the third party would
// answer; one for a path the contract does not have goes on to h (404 or
// 405). A stand-in validates by its own contract, never by our domain's
// rules, so a drift between our client and the contract shows.
func Contract(spec []byte, h http.Handler) http.Handler {
	doc, err := libopenapi.NewDocument(spec)
	if err != nil {
		panic(fmt.Sprintf("the stand-in's contract does not parse: %v", err))
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		panic(fmt.Sprintf("the stand-in's contract: %v", errs))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
		if ok, verrs := v.ValidateHttpRequest(r); !ok {
			var problems []string
			for _, e := range verrs {
				if e.ValidationType == helpers.PathValidation {
					h.ServeHTTP(w, r) // not the contract's: the mux answers
					return
				}
				problems = append(problems, e.Message)
			}
			WriteJSON(w, http.StatusBadRequest, map[string]any{"error": true, "detail": "the request breaks the contract", "problems": problems})
			return
		}
		h.ServeHTTP(w, r)
	})
}

// WriteJSON writes v as a JSON response.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
