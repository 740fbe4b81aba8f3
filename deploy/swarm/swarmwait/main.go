// Command swarmwait waits for a Swarm to do what the pipeline asked, and
// says whether it did: the verdicts the pipelines (deploy/swarm/lib.sh) used to read
// from `docker service ps` text, decided here on the Engine API's JSON. It
// talks to the engine DOCKER_HOST names (unix://, tcp://, ssh://).
//
//	swarmwait [flags] service NAME IMAGE   every task of NAME runs IMAGE; exit 1 when Swarm rolled it back
//	swarmwait [flags] job NAME             the replicated job NAME completed; exit 1 when out of attempts
//	swarmwait [flags] running NAME         a task of NAME runs
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
	"os/signal"
	"syscall"
	"time"

	"github.com/loandesk/loandesk/deploy/swarm/engine"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stderr)
	var usage usageError
	switch {
	case errors.As(err, &usage):
		fmt.Fprintln(os.Stderr, "swarmwait:", err)
		os.Exit(2)
	case err != nil:
		logf(os.Stderr, "FAILED: %v", err)
		os.Exit(1)
	}
}

type usageError string

func (u usageError) Error() string { return string(u) }

func run(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	fs := flag.NewFlagSet("swarmwait", flag.ContinueOnError)
	fs.SetOutput(out)
	timeout := fs.Duration("timeout", 5*time.Minute, "give up after this long")
	poll := fs.Duration("poll", time.Second, "ask the engine this often")
	crashLoop := fs.Int("crash-loop", 6, "service: failed tasks of the new image that make a new service (no update to roll back) count as failing")
	if err := fs.Parse(args); err != nil {
		return usageError(err.Error())
	}
	rest := fs.Args()
	var name string
	var verdict func(Service, []Task) (Outcome, string)
	switch {
	case len(rest) == 3 && rest[0] == "service":
		name = rest[1]
		want := rest[2]
		if want == "" {
			return usageError("service " + name + ": no image to wait for")
		}
		verdict = func(s Service, t []Task) (Outcome, string) { return Converged(s, t, want, *crashLoop) }
	case len(rest) == 2 && rest[0] == "job":
		name, verdict = rest[1], JobDone
	case len(rest) == 2 && rest[0] == "running":
		name, verdict = rest[1], Running
	default:
		return usageError("usage: swarmwait [-timeout D] service NAME IMAGE | job NAME | running NAME")
	}
	api, err := engine.New(getenv("DOCKER_HOST"))
	if err != nil {
		return usageError(err.Error())
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	start := time.Now()
	last := ""
	for {
		s, tasks, err := look(ctx, api, name)
		outcome, why := Waiting, ""
		if err != nil {
			if ctx.Err() != nil { // the timeout cut this look short: say what the last one saw
				printTasks(out, tasks)
				return fmt.Errorf("%s: not done after %s (%s)", name, *timeout, last)
			}
			why = err.Error() // an engine that does not answer for a moment: ask again
		} else {
			outcome, why = verdict(s, tasks)
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

func logf(out io.Writer, format string, args ...any) {
	fmt.Fprintf(out, "[%s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}
