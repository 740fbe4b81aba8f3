package fault_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/loandesk/loandesk/internal/provider/fault"
)

var ok = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })

func get(h http.Handler, path string) int {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code
}

func TestFromEnvNamesTheBadVariable(t *testing.T) {
	for name, val := range map[string]string{"FAULT_LATENCY": "soon", "FAULT_ERROR_RATE": "1.5", "FAULT_DOWN": "maybe"} {
		_, err := fault.FromEnv(func(k string) string {
			if k == name {
				return val
			}
			return ""
		})
		if err == nil || len(err.Error()) < len(name) || err.Error()[:len(name)] != name {
			t.Errorf("%s=%s: err = %v, want it to start with the variable", name, val, err)
		}
	}
}

func TestDownAnswers503ButStaysHealthy(t *testing.T) {
	h := fault.Faults{Down: true}.Wrap(ok)
	if c := get(h, "/api/v1/scoring/"); c != http.StatusServiceUnavailable {
		t.Fatalf("status = %d, want 503", c)
	}
	if c := get(h, "/healthz"); c != http.StatusOK {
		t.Fatalf("healthz = %d, want 200 (the process is alive)", c)
	}
}

func TestErrorRate(t *testing.T) {
	h := fault.Faults{ErrorRate: 0.5}.Wrap(ok)
	fails := 0
	for range 2000 {
		if get(h, "/x") == http.StatusServiceUnavailable {
			fails++
		}
	}
	// Binomial(2000, 0.5): 850..1150 is beyond 6 standard deviations.
	if fails < 850 || fails > 1150 {
		t.Fatalf("%d of 2000 failed, want about half", fails)
	}
	if get(fault.Faults{ErrorRate: 0}.Wrap(ok), "/x") != http.StatusOK {
		t.Fatal("rate 0 failed a request")
	}
}

func TestLatency(t *testing.T) {
	h := fault.Faults{Latency: 80 * time.Millisecond}.Wrap(ok)
	start := time.Now()
	get(h, "/x")
	if time.Since(start) < 80*time.Millisecond {
		t.Fatal("latency was not added")
	}
}

func TestControlChangesFaultsAtRunTime(t *testing.T) {
	inj := fault.NewInjector(fault.Faults{})
	h := inj.Wrap(ok)
	if get(h, "/x") != http.StatusOK {
		t.Fatal("no fault yet")
	}
	put := func(body string) int {
		rec := httptest.NewRecorder()
		inj.Control().ServeHTTP(rec, httptest.NewRequest(http.MethodPut, "/_fault", strings.NewReader(body)))
		return rec.Code
	}
	if put(`{"down":true}`) != http.StatusOK || get(h, "/x") != http.StatusServiceUnavailable {
		t.Fatal("down did not take effect")
	}
	if put(`{"latency":"soon"}`) != http.StatusBadRequest {
		t.Fatal("a bad latency was accepted")
	}
	if put(`{"latency":"30ms"}`) != http.StatusOK {
		t.Fatal("latency refused")
	}
	start := time.Now()
	if get(h, "/x") != http.StatusOK || time.Since(start) < 30*time.Millisecond {
		t.Fatal("latency did not take effect, or down stayed")
	}
	if get(h, "/healthz") != http.StatusOK {
		t.Fatal("healthz is faulted")
	}
}
