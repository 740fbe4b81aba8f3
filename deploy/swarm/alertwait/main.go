// Command alertwait is make test-swarm's alert rehearsal (phase g): it
// serves the operator's webhook (the loandesk_alert_webhook_url secret
// names it), takes the worker and the scoring service away (scaled to 0:
// Swarm would restart a killed task), waits until each cause alert reaches
// the webhook, scales both back, and waits until each resolves. It prints
// the seconds from fault to alert and from recovery to resolution, and exits
// non-zero when an alert misses its bound. Filings keep coming meanwhile
// (the loader's), so the queue grows old and the api's breaker opens.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/loandesk/loandesk/internal/alertsink"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "alertwait:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("alertwait", flag.ContinueOnError)
	listen := fs.String("listen", ":19099", "the webhook's address")
	engine := fs.String("docker", "tcp://127.0.0.1:2375", "a Swarm manager's Engine API")
	stack := fs.String("stack", "loandesk", "the app's stack")
	names := fs.String("alerts", "WorkerDown,DecisionQueueStuck,BreakerOpen", "the alerts that must fire and resolve")
	fireWithin := fs.Duration("fire-within", 6*time.Minute, "bound from the fault to each alert at the webhook")
	resolveWithin := fs.Duration("resolve-within", 5*time.Minute, "bound from the recovery to each resolution at the webhook")
	out := fs.String("out", "alerts.csv", "CSV of each alert's seconds (written at start: tool_start waits for it)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	alerts := strings.Split(*names, ",")
	d := &docker{base: "http://" + strings.TrimPrefix(*engine, "tcp://"), http: &http.Client{Timeout: 30 * time.Second}}
	csv, err := os.Create(*out)
	if err != nil {
		return err
	}
	defer csv.Close()
	fmt.Fprintln(csv, "alert,event,seconds")

	sink := alertsink.New(time.Now())
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: sink, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	services := []string{*stack + "_worker", *stack + "_scoring"}
	before := map[string]uint64{}
	for _, s := range services {
		n, err := d.scale(ctx, s, 0)
		if err != nil {
			return err
		}
		before[s] = n
	}
	faultAt := time.Now()
	fmt.Printf("worker (%d tasks) and scoring (%d) scaled to 0\n", before[services[0]], before[services[1]])
	fired, missingFired := sink.Wait(ctx, alerts, false, faultAt, *fireWithin)
	alertsink.Report(os.Stdout, alerts, fired, "fired", "fault")

	recoverAt := time.Now()
	for _, s := range services {
		if _, err := d.scale(ctx, s, before[s]); err != nil {
			return err
		}
	}
	fmt.Println("worker and scoring scaled back")
	resolved, missingResolved := sink.Wait(ctx, alerts, true, recoverAt, *resolveWithin)
	alertsink.Report(os.Stdout, alerts, resolved, "resolved", "recovery")
	for _, a := range alerts {
		fmt.Fprintf(csv, "%s,fired,%.1f\n%s,resolved,%.1f\n", a, fired[a], a, resolved[a])
	}
	posts, bad := sink.Posts()
	var errs []error
	if len(missingFired) > 0 {
		errs = append(errs, fmt.Errorf("%v did not reach the webhook within %s of the fault", missingFired, *fireWithin))
	}
	if len(missingResolved) > 0 {
		errs = append(errs, fmt.Errorf("%v did not resolve at the webhook within %s of the recovery", missingResolved, *resolveWithin))
	}
	if bad > 0 {
		errs = append(errs, fmt.Errorf("%d of Alertmanager's %d posts were not its webhook payload", bad, posts))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	fmt.Printf("ok: every alert fired within %s and resolved within %s (%d posts)\n", *fireWithin, *resolveWithin, posts)
	return nil
}

// docker is the little of the Engine API the rehearsal needs.
type docker struct {
	base string
	http *http.Client
}

// scale sets a replicated service's replicas, and returns what it had.
func (d *docker) scale(ctx context.Context, service string, replicas uint64) (uint64, error) {
	var svc struct {
		ID      string
		Version struct{ Index uint64 }
		Spec    map[string]any
	}
	if err := d.do(ctx, "GET", "/services/"+service, nil, &svc); err != nil {
		return 0, err
	}
	mode, _ := svc.Spec["Mode"].(map[string]any)
	rep, _ := mode["Replicated"].(map[string]any)
	if rep == nil {
		return 0, fmt.Errorf("%s is not a replicated service", service)
	}
	had, _ := rep["Replicas"].(float64)
	rep["Replicas"] = replicas
	path := fmt.Sprintf("/services/%s/update?version=%d", svc.ID, svc.Version.Index)
	return uint64(had), d.do(ctx, "POST", path, svc.Spec, nil)
}

func (d *docker) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, d.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := d.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(b))
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}
