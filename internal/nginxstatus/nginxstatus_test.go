package nginxstatus_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/loandesk/loandesk/internal/nginxstatus"
)

const page = "Active connections: 3 \nserver accepts handled requests\n 16 15 31 \nReading: 0 Writing: 1 Waiting: 2 \n"

func TestParseReadsAStubStatusPage(t *testing.T) {
	s, err := nginxstatus.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	if want := (nginxstatus.Status{Active: 3, Accepts: 16, Handled: 15, Requests: 31, Reading: 0, Writing: 1, Waiting: 2}); s != want {
		t.Fatalf("%+v, want %+v", s, want)
	}
}

func TestParseRefusesWhatIsNotOne(t *testing.T) {
	for name, p := range map[string]string{
		"empty":         "",
		"html":          "<html><body>404</body></html>",
		"a word":        strings.Replace(page, "16 15 31", "16 x 31", 1),
		"two counts":    strings.Replace(page, "16 15 31", "16 15", 1),
		"states":        strings.Replace(page, "Writing:", "Sending:", 1),
		"a line more":   page + "extra\n",
		"huge":          strings.Repeat("Active connections: 1\n", 1000),
		"negative-ish":  strings.Replace(page, "Active connections: 3", "Active connections: -", 1),
		"no first line": strings.Replace(page, "Active connections: 3 \n", "", 1),
	} {
		if _, err := nginxstatus.Parse(strings.NewReader(p)); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}

// Every address the host resolves to is read, up to the bound: a task that
// does not answer is nginx_up 0, and more tasks than the bound add no series.
func TestCollectorReadsEveryTaskUpToItsBound(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/stub_status" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, page)
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL + "/stub_status")
	u.Host = "tasks.web:" + u.Port()
	var answer []string
	c := &nginxstatus.Collector{URL: u, Client: srv.Client(), Timeout: 5 * time.Second, MaxTargets: 4,
		Resolve: func(_ context.Context, host string) ([]string, error) {
			if host != "tasks.web" {
				t.Errorf("resolved %q", host)
			}
			return answer, nil
		}}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)

	answer = []string{"127.0.0.1", "127.0.0.254"} // the second refuses
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP nginx_up Whether the task's stub_status page was read (1) or not (0).
# TYPE nginx_up gauge
nginx_up{task="127.0.0.1"} 1
nginx_up{task="127.0.0.254"} 0
# HELP nginx_http_requests_total HTTP requests served.
# TYPE nginx_http_requests_total counter
nginx_http_requests_total{task="127.0.0.1"} 31
# HELP nginx_exporter_targets Addresses the status URL's host resolved to, and how many were read (at most the configured bound).
# TYPE nginx_exporter_targets gauge
nginx_exporter_targets{kind="read"} 2
nginx_exporter_targets{kind="resolved"} 2
`), "nginx_up", "nginx_http_requests_total", "nginx_exporter_targets"); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(c, "nginx_connections"); n != 4 {
		t.Fatalf("%d connection series for one task, want 4", n)
	}

	answer = nil
	for i := range 50 {
		answer = append(answer, fmt.Sprintf("127.0.1.%d", i+1))
	}
	if n := testutil.CollectAndCount(c, "nginx_up"); n != 4 {
		t.Fatalf("%d tasks read of 50, want the bound, 4", n)
	}
}
