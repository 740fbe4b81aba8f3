// Package fault injects latency, errors and outages into the provider
// stand-ins, by configuration or at run time, so resilience can be tested
// end to end.
package fault

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync/atomic"
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
func (f Faults) Wrap(h http.Handler) http.Handler { return NewInjector(f).Wrap(h) }

// Injector applies faults that a test may change while the stand-in runs,
// through Control: an outage or a slowdown in the middle of a load test.
type Injector struct{ cur atomic.Pointer[Faults] }

// NewInjector starts with f.
func NewInjector(f Faults) *Injector {
	i := &Injector{}
	i.cur.Store(&f)
	return i
}

// Wrap applies the current faults in front of h.
func (i *Injector) Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := *i.cur.Load()
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

// controlBody is what PUT /_fault takes and GET /_fault shows.
type controlBody struct {
	Latency   string  `json:"latency"`
	ErrorRate float64 `json:"error_rate"`
	Down      bool    `json:"down"`
}

// Control is the test's switch: GET shows the faults, PUT replaces them
// ({"latency":"2s","error_rate":0,"down":false}). Only mounted with
// FAULT_CONTROL=true; a real provider has nothing like it.
func (i *Injector) Control() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet:
		case http.MethodPut:
			var in controlBody
			if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&in); err != nil {
				http.Error(w, "body: "+err.Error(), http.StatusBadRequest)
				return
			}
			f, err := FromEnv(func(k string) string {
				return map[string]string{"FAULT_LATENCY": in.Latency, "FAULT_ERROR_RATE": strconv.FormatFloat(in.ErrorRate, 'f', -1, 64),
					"FAULT_DOWN": strconv.FormatBool(in.Down)}[k]
			})
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			i.cur.Store(&f)
		default:
			w.Header().Set("Allow", "GET, PUT")
			http.Error(w, "GET or PUT", http.StatusMethodNotAllowed)
			return
		}
		f := *i.cur.Load()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(controlBody{Latency: f.Latency.String(), ErrorRate: f.ErrorRate, Down: f.Down})
	})
}
