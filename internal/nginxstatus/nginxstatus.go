// Package nginxstatus exports nginx's stub_status page for Prometheus: web
// (nginx) serves no metrics of its own, and the upstream exporter is not
// one we can build here, so `loandesk nginx-exporter` reads the page of
// every web task and serves the numbers at /metrics.
package nginxstatus

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Status is one stub_status page.
type Status struct {
	Active, Accepts, Handled, Requests, Reading, Writing, Waiting int64
}

// maxPage bounds what is read of a page: a real one is under 200 bytes.
const maxPage = 4 << 10

// Parse reads a stub_status page:
//
//	Active connections: 2
//	server accepts handled requests
//	 16 16 31
//	Reading: 0 Writing: 1 Waiting: 1
func Parse(r io.Reader) (Status, error) {
	var s Status
	var lines []string
	sc := bufio.NewScanner(io.LimitReader(r, maxPage))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			lines = append(lines, l)
		}
	}
	if err := sc.Err(); err != nil {
		return s, err
	}
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "Active connections:") || lines[1] != "server accepts handled requests" {
		return s, fmt.Errorf("not a stub_status page (%d lines)", len(lines))
	}
	var err error
	num := func(f string) int64 {
		n, e := strconv.ParseInt(f, 10, 64)
		if e != nil && err == nil {
			err = fmt.Errorf("stub_status: %q is not a count", f)
		}
		return n
	}
	s.Active = num(strings.TrimSpace(strings.TrimPrefix(lines[0], "Active connections:")))
	if f := strings.Fields(lines[2]); len(f) == 3 {
		s.Accepts, s.Handled, s.Requests = num(f[0]), num(f[1]), num(f[2])
	} else {
		return s, fmt.Errorf("stub_status: %q: want three counts", lines[2])
	}
	f := strings.Fields(lines[3])
	if len(f) != 6 || f[0] != "Reading:" || f[2] != "Writing:" || f[4] != "Waiting:" {
		return s, fmt.Errorf("stub_status: %q: want Reading, Writing, Waiting", lines[3])
	}
	s.Reading, s.Writing, s.Waiting = num(f[1]), num(f[3]), num(f[5])
	return s, err
}

// Collector reads the page at URL from every address its host resolves to
// (Swarm's tasks.web: one per web task) at each scrape, and labels each
// task's numbers with its address. At most MaxTargets addresses are read, so
// the label set is bounded by config, not by the DNS answer.
type Collector struct {
	URL        *url.URL
	Client     *http.Client
	Timeout    time.Duration                                            // per scrape
	Resolve    func(ctx context.Context, host string) ([]string, error) // default: net.DefaultResolver.LookupHost
	MaxTargets int
}

var (
	descUp       = prometheus.NewDesc("nginx_up", "Whether the task's stub_status page was read (1) or not (0).", []string{"task"}, nil)
	descConns    = prometheus.NewDesc("nginx_connections", "Client connections by state: active, reading, writing, waiting.", []string{"task", "state"}, nil)
	descAccepted = prometheus.NewDesc("nginx_connections_accepted_total", "Client connections accepted.", []string{"task"}, nil)
	descHandled  = prometheus.NewDesc("nginx_connections_handled_total", "Client connections handled (accepted minus those refused at a resource limit).", []string{"task"}, nil)
	descRequests = prometheus.NewDesc("nginx_http_requests_total", "HTTP requests served.", []string{"task"}, nil)
	descTargets  = prometheus.NewDesc("nginx_exporter_targets", "Addresses the status URL's host resolved to, and how many were read (at most the configured bound).", []string{"kind"}, nil)
)

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descUp, descConns, descAccepted, descHandled, descRequests, descTargets} {
		ch <- d
	}
}

// Collect implements prometheus.Collector: every task read at once.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.Timeout)
	defer cancel()
	resolve := c.Resolve
	if resolve == nil {
		resolve = net.DefaultResolver.LookupHost
	}
	addrs, err := resolve(ctx, c.URL.Hostname())
	if err != nil {
		addrs = nil // no task (scaled to 0, all down): no series but the count
	}
	slices.Sort(addrs)
	found := len(addrs)
	if len(addrs) > c.MaxTargets {
		addrs = addrs[:c.MaxTargets]
	}
	ch <- prometheus.MustNewConstMetric(descTargets, prometheus.GaugeValue, float64(found), "resolved")
	ch <- prometheus.MustNewConstMetric(descTargets, prometheus.GaugeValue, float64(len(addrs)), "read")
	var wg sync.WaitGroup
	for _, a := range addrs {
		wg.Go(func() {
			u := *c.URL
			u.Host = net.JoinHostPort(a, c.URL.Port())
			s, err := c.read(ctx, u.String())
			if err != nil {
				ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, 0, a)
				return
			}
			ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, 1, a)
			for state, v := range map[string]int64{"active": s.Active, "reading": s.Reading, "writing": s.Writing, "waiting": s.Waiting} {
				ch <- prometheus.MustNewConstMetric(descConns, prometheus.GaugeValue, float64(v), a, state)
			}
			ch <- prometheus.MustNewConstMetric(descAccepted, prometheus.CounterValue, float64(s.Accepts), a)
			ch <- prometheus.MustNewConstMetric(descHandled, prometheus.CounterValue, float64(s.Handled), a)
			ch <- prometheus.MustNewConstMetric(descRequests, prometheus.CounterValue, float64(s.Requests), a)
		})
	}
	wg.Wait()
}

func (c *Collector) read(ctx context.Context, u string) (Status, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return Status{}, err
	}
	res, err := c.Client.Do(req)
	if err != nil {
		return Status{}, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return Status{}, fmt.Errorf("%s: %s", u, res.Status)
	}
	return Parse(res.Body)
}
