// Package fault injects latency, errors and outages into the provider
// stand-ins, by configuration, so resilience can be tested end to end.
package fault

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// Faults to inject into every request except /healthz.
type Faults struct {
	Latency   time.Duration // added before answering
	ErrorRate float64       // share of requests answered 503, 0 to 1
	Down      bool          // answer every request 503
}

// FromEnv reads FAULT_LATENCY (a Go duration), FAULT_ERROR_RATE (0..1) and
// FAULT_DOWN (true/false); errors name the variable.
func FromEnv(getenv func(string) string) (Faults, error) {
	var f Faults
	var err error
	if v := getenv("FAULT_LATENCY"); v != "" {
		if f.Latency, err = time.ParseDuration(v); err != nil || f.Latency < 0 {
			return f, fmt.Errorf("FAULT_LATENCY=%q: want a duration such as 250ms", v)
		}
	}
	if v := getenv("FAULT_ERROR_RATE"); v != "" {
		if f.ErrorRate, err = strconv.ParseFloat(v, 64); err != nil || f.ErrorRate < 0 || f.ErrorRate > 1 {
			return f, fmt.Errorf("FAULT_ERROR_RATE=%q: want a number from 0 to 1", v)
		}
	}
	if v := getenv("FAULT_DOWN"); v != "" {
		if f.Down, err = strconv.ParseBool(v); err != nil {
			return f, fmt.Errorf("FAULT_DOWN=%q: want true or false", v)
		}
	}
	return f, nil
}

// Wrap applies the faults in front of h.
func (f Faults) Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			h.ServeHTTP(w, r)
			return
		}
		if f.Latency > 0 {
			select {
			case <-time.After(f.Latency):
			case <-r.Context().Done():
				return
			}
		}
		if f.Down || (f.ErrorRate > 0 && rand.Float64() < f.ErrorRate) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"error":true,"detail":"injected fault"}` + "\n"))
			return
		}
		h.ServeHTTP(w, r)
	})
}
