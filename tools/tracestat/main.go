// Command tracestat is a small OTLP/HTTP trace receiver for `make trace`: it
// keeps the spans the services export and, when stopped (SIGTERM), prints
// where the time of one kind of request goes — each span kind's latency and
// its share of the request's, and the time in the API itself (the request's
// span minus what its children cover). No collector or UI to install: the
// question it answers is one table.
//
// With -dump it also writes every export it receives, whole, as one JSON
// line (protojson) to a file served at GET /spans: `make test-chaos` reads
// everything the stack exported there, for personal data.
//
//	tracestat -listen :4318 -root "POST /api/v1/requests" [-dump /tmp/spans.jsonl]
//	tracestat -probe http://127.0.0.1:4318/healthz   (a container's health check)
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"sort"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

type span struct {
	service, name string
	id, parent    string
	start, end    uint64 // Unix nanoseconds
}

func (s span) dur() time.Duration { return time.Duration(s.end - s.start) }

type store struct {
	mu     sync.Mutex
	traces map[string][]span
	dump   *os.File // every export as a JSON line; nil: none kept
	// summary off: only dump (the chaos run exports more than a table needs).
	summary bool
}

func (st *store) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 32<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var data tracepb.TracesData
	if err := proto.Unmarshal(body, &data); err != nil {
		http.Error(w, "not an OTLP protobuf trace export: "+err.Error(), http.StatusBadRequest)
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.dump != nil {
		line, err := protojson.Marshal(&data)
		if err == nil {
			_, err = st.dump.Write(append(line, '\n'))
		}
		if err != nil {
			http.Error(w, "keeping the export: "+err.Error(), http.StatusInternalServerError)
			return
		}
	}
	if !st.summary {
		w.WriteHeader(http.StatusOK)
		return
	}
	for _, rs := range data.ResourceSpans {
		service := "?"
		for _, a := range rs.GetResource().GetAttributes() {
			if a.Key == "service.name" {
				service = a.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				id := fmt.Sprintf("%x", s.TraceId)
				st.traces[id] = append(st.traces[id], span{service: service, name: s.Name,
					id: fmt.Sprintf("%x", s.SpanId), parent: fmt.Sprintf("%x", s.ParentSpanId),
					start: s.StartTimeUnixNano, end: s.EndTimeUnixNano})
			}
		}
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.WriteHeader(http.StatusOK)
}

// covered is how much of [start, end) the spans cover (overlaps once).
func covered(spans []span, start, end uint64) time.Duration {
	type iv struct{ a, b uint64 }
	var ivs []iv
	for _, s := range spans {
		a, b := max(s.start, start), min(s.end, end)
		if a < b {
			ivs = append(ivs, iv{a, b})
		}
	}
	sort.Slice(ivs, func(i, j int) bool { return ivs[i].a < ivs[j].a })
	var total, reach uint64
	for _, v := range ivs {
		if v.b <= reach {
			continue
		}
		total += v.b - max(v.a, reach)
		reach = v.b
	}
	return time.Duration(total)
}

type stat struct{ d []time.Duration }

func (s *stat) add(d time.Duration) { s.d = append(s.d, d) }

// q is the p-quantile: the smallest value at least a share p of them are
// at most (nearest rank).
func (s *stat) q(p float64) time.Duration {
	slices.Sort(s.d)
	return s.d[max(0, int(math.Ceil(p*float64(len(s.d))))-1)]
}
func (s *stat) mean() time.Duration {
	var t time.Duration
	for _, d := range s.d {
		t += d
	}
	return t / time.Duration(len(s.d))
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

// report: for the traces whose root span is named root, each descendant
// span's latency (by service and name) and its share of the root's total
// time, and the root's own time (not covered by any child).
func (st *store) report(w io.Writer, root string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	roots, self := &stat{}, &stat{}
	byName := map[string]*stat{}
	count := map[string]int{}
	var rootTotal time.Duration
	for _, spans := range st.traces {
		// The request: a span of that name whose parent is not here (the
		// caller's, or none).
		i := slices.IndexFunc(spans, func(s span) bool { return s.name == root && !has(spans, s.parent) })
		if i < 0 {
			continue
		}
		r := spans[i]
		roots.add(r.dur())
		rootTotal += r.dur()
		kids := map[string][]span{}
		for _, s := range spans {
			kids[s.parent] = append(kids[s.parent], s)
		}
		// Every descendant of the request (not whatever else its trace
		// holds, such as a queued job's spans).
		var walk func(id string)
		walk = func(id string) {
			for _, s := range kids[id] {
				k := s.service + "\t" + s.name
				if byName[k] == nil {
					byName[k] = &stat{}
				}
				byName[k].add(s.dur())
				count[k]++
				walk(s.id)
			}
		}
		walk(r.id)
		self.add(r.dur() - covered(kids[r.id], r.start, r.end))
	}
	if len(roots.d) == 0 {
		fmt.Fprintf(w, "tracestat: no trace with a root span %q (%d traces received)\n", root, len(st.traces))
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight|tabwriter.Debug)
	fmt.Fprintf(tw, "service\tspan\tper request\tp50\tp99\tshare of the request's time\t\n")
	row := func(k string, s *stat) {
		var sum time.Duration
		for _, d := range s.d {
			sum += d
		}
		fmt.Fprintf(tw, "%s\t%.2f\t%s\t%s\t%.0f %%\t\n", k, float64(len(s.d))/float64(len(roots.d)), ms(s.q(0.5)), ms(s.q(0.99)),
			100*float64(sum)/float64(rootTotal))
	}
	row("(request)\t"+root, roots)
	row("(request)\tin the API itself (not in any child span)", self)
	keys := make([]string, 0, len(byName))
	for k := range byName {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return byName[keys[i]].mean()*time.Duration(count[keys[i]]) > byName[keys[j]].mean()*time.Duration(count[keys[j]])
	})
	for _, k := range keys {
		row(k, byName[k])
	}
	tw.Flush()
	fmt.Fprintf(w, "%d requests traced (root span %q); shares of nested spans add up to more than 100 %%.\n", len(roots.d), root)
}

func has(spans []span, id string) bool {
	return slices.ContainsFunc(spans, func(s span) bool { return s.id == id })
}

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "tracestat:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("tracestat", flag.ContinueOnError)
	listen := fs.String("listen", ":4318", "address for OTLP/HTTP (POST /v1/traces)")
	root := fs.String("root", "POST /api/v1/requests", "the name of the request span to break down; empty: no table")
	dump := fs.String("dump", "", "also write every export as a JSON line to this file, served at GET /spans")
	probe := fs.String("probe", "", "only check that this URL answers 200, and exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *probe != "" {
		c := &http.Client{Timeout: 3 * time.Second}
		resp, err := c.Get(*probe)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s answered %d", *probe, resp.StatusCode)
		}
		return nil
	}
	st := &store{traces: map[string][]span{}, summary: *root != ""}
	mux := http.NewServeMux()
	mux.Handle("POST /v1/traces", st)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	if *dump != "" {
		f, err := os.OpenFile(*dump, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		defer f.Close()
		st.dump = f
		mux.HandleFunc("GET /spans", func(w http.ResponseWriter, r *http.Request) {
			st.mu.Lock() // no export half-written while it is read
			defer st.mu.Unlock()
			w.Header().Set("Content-Type", "application/x-ndjson")
			http.ServeFile(w, r, *dump)
		})
	}
	srv := &http.Server{Addr: *listen, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdown)
	if st.summary {
		st.report(out, *root)
	}
	return nil
}
