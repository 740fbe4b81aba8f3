// Command swarmwait waits for a Swarm to do what the pipeline asked, and
// says whether it did: the verdicts the pipelines (deploy/swarm/lib.sh) used to read
// from `docker service ps` text, decided here on the Engine API's JSON. It
// talks to the engine DOCKER_HOST names (unix://, tcp://, ssh://).
//
//	swarmwait [flags] service NAME IMAGE   every task of NAME runs IMAGE; exit 1 when Swarm rolled it back
//	swarmwait [flags] job NAME             the replicated job NAME completed; exit 1 when out of attempts
//	swarmwait [flags] running NAME         a task of NAME runs
//	swarmwait [flags] node-down NODE       the managers see NODE down
//	swarmwait [flags] away NODE NAME N     N tasks of NAME run on nodes other than NODE
//	swarmwait [flags] nodes-ready          every node is ready, every manager reachable, one leads
//
// Exit status: 0 done, 1 failed or timed out, 2 bad usage.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"time"

	"github.com/loandesk/loandesk/deploy/swarm/engine"
	"github.com/loandesk/loandesk/deploy/swarm/waitcli"
)

func main() {
	waitcli.Main("swarmwait", "", func(ctx context.Context) error { return run(ctx, os.Args[1:], os.Getenv, os.Stderr) })
}

func run(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	fs := flag.NewFlagSet("swarmwait", flag.ContinueOnError)
	fs.SetOutput(out)
	timeout := fs.Duration("timeout", 5*time.Minute, "give up after this long")
	poll := fs.Duration("poll", time.Second, "ask the engine this often")
	crashLoop := fs.Int("crash-loop", 6, "service: failed tasks of the new image that make a new service (no update to roll back) count as failing")
	if err := fs.Parse(args); err != nil {
		return waitcli.UsageError(err.Error())
	}
	rest := fs.Args()
	var name string
	var verdict func(Service, []Task, []Node) (Outcome, string)
	withNodes, withService := false, true
	switch {
	case len(rest) == 3 && rest[0] == "service":
		name = rest[1]
		want := rest[2]
		if want == "" {
			return waitcli.UsageError("service " + name + ": no image to wait for")
		}
		verdict = func(s Service, t []Task, _ []Node) (Outcome, string) { return Converged(s, t, want, *crashLoop) }
	case len(rest) == 2 && rest[0] == "job":
		name, verdict = rest[1], func(s Service, t []Task, _ []Node) (Outcome, string) { return JobDone(s, t) }
	case len(rest) == 2 && rest[0] == "running":
		name, verdict = rest[1], func(s Service, t []Task, _ []Node) (Outcome, string) { return Running(s, t) }
	case len(rest) == 2 && rest[0] == "node-down":
		node := rest[1]
		name, withNodes, withService = "node "+node, true, false
		verdict = func(_ Service, _ []Task, n []Node) (Outcome, string) { return NodeDown(n, node) }
	case len(rest) == 1 && rest[0] == "nodes-ready":
		name, withNodes, withService = "the nodes", true, false
		verdict = func(_ Service, _ []Task, n []Node) (Outcome, string) { return NodesReady(n) }
	case len(rest) == 4 && rest[0] == "away":
		node, want := rest[1], 0
		if _, err := fmt.Sscan(rest[3], &want); err != nil || want < 1 {
			return waitcli.UsageError("away " + node + " " + rest[2] + ": " + rest[3] + " is not a count of tasks")
		}
		name, withNodes = rest[2], true
		verdict = func(_ Service, t []Task, n []Node) (Outcome, string) { return Away(n, t, node, want) }
	default:
		return waitcli.UsageError("usage: swarmwait [-timeout D] service NAME IMAGE | job NAME | running NAME | node-down NODE | away NODE NAME N | nodes-ready")
	}
	api, err := engine.New(getenv("DOCKER_HOST"))
	if err != nil {
		return waitcli.UsageError(err.Error())
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	start := time.Now()
	last := ""
	for {
		var (
			s     Service
			tasks []Task
			nodes []Node
			err   error
		)
		if withService {
			s, tasks, err = look(ctx, api, name)
		}
		if err == nil && withNodes {
			err = api.Do(ctx, "GET", "/nodes", &nodes)
		}
		outcome, why := Waiting, ""
		if err != nil {
			if ctx.Err() != nil { // the timeout cut this look short: say what the last one saw
				printTasks(out, tasks)
				return fmt.Errorf("%s: not done after %s (%s)", name, *timeout, last)
			}
			why = err.Error() // an engine that does not answer for a moment: ask again
		} else {
			outcome, why = verdict(s, tasks, nodes)
		}
		if why != last && outcome == Waiting {
			logf(out, "%s: %s", name, why)
			last = why
		}
		switch outcome {
		case Done:
			logf(out, "%s: %s (%.0f s)", name, why, time.Since(start).Seconds())
			return nil
		case Failed:
			printTasks(out, tasks)
			return errors.New(name + ": " + why)
		}
		select {
		case <-ctx.Done():
			printTasks(out, tasks)
			return fmt.Errorf("%s: not done after %s (%s)", name, *timeout, last)
		case <-time.After(*poll):
		}
	}
}

// look reads the service and its tasks.
func look(ctx context.Context, api *engine.Client, name string) (Service, []Task, error) {
	var s Service
	if err := api.Do(ctx, "GET", "/services/"+url.PathEscape(name), &s); err != nil {
		if engine.NotFound(err) {
			return s, nil, fmt.Errorf("no service %s yet", name)
		}
		return s, nil, err
	}
	filter := url.QueryEscape(fmt.Sprintf(`{"service":{%q:true}}`, s.ID))
	var all []Task
	if err := api.Do(ctx, "GET", "/tasks?filters="+filter, &all); err != nil {
		return s, nil, err
	}
	tasks := all[:0]
	for _, t := range all {
		if t.ServiceID == s.ID {
			tasks = append(tasks, t)
		}
	}
	return s, tasks, nil
}

// printTasks shows why: the tasks that failed, and what runs.
func printTasks(out io.Writer, tasks []Task) {
	shown := 0
	for _, t := range tasks {
		if shown == 8 {
			break
		}
		if t.DesiredState != "running" && t.Status.Err == "" {
			continue
		}
		fmt.Fprintf(out, "  slot %d on %.12s: %s, %s %s\n", t.Slot, t.NodeID, t.Spec.ContainerSpec.Image, t.Status.State, t.Status.Err)
		shown++
	}
}

func logf(out io.Writer, format string, args ...any) { waitcli.Logf(out, "", format, args...) }
