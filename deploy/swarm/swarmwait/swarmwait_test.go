package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/loandesk/loandesk/deploy/swarm/waitcli"
)

const (
	imgA = "registry:5000/loandesk/loandesk@sha256:aaaa"
	imgB = "registry:5000/loandesk/loandesk@sha256:bbbb"
)

// service builds the engine's answer for a replicated service.
func service(image, state string, replicas uint64) Service {
	var s Service
	s.ID, s.Spec.Name = "svc1", "loandesk_api"
	s.Spec.TaskTemplate.ContainerSpec.Image = image
	s.Spec.Mode.Replicated = &struct{ Replicas uint64 }{replicas}
	if state != "" {
		s.UpdateStatus = &struct{ State, Message string }{State: state}
	}
	return s
}

func task(slot int, image, desired, state string) Task {
	t := Task{ServiceID: "svc1", Slot: slot, DesiredState: desired}
	t.Status.State = state
	t.Spec.ContainerSpec.Image = image
	return t
}

func TestConverged(t *testing.T) {
	for _, c := range []struct {
		name  string
		s     Service
		tasks []Task
		want  Outcome
	}{
		{"every replica runs B", service(imgB, "completed", 2),
			[]Task{task(1, imgB, "running", "running"), task(2, imgB, "running", "running"), task(1, imgA, "shutdown", "shutdown")}, Done},
		{"a replica still starts", service(imgB, "completed", 2),
			[]Task{task(1, imgB, "running", "running"), task(2, imgB, "running", "starting")}, Waiting},
		{"an A task still meant to run", service(imgB, "completed", 2),
			[]Task{task(1, imgB, "running", "running"), task(2, imgB, "running", "running"), task(3, imgA, "running", "running")}, Waiting},
		{"fewer tasks than replicas", service(imgB, "", 3),
			[]Task{task(1, imgB, "running", "running")}, Waiting},
		{"the update is under way", service(imgB, "updating", 1),
			[]Task{task(1, imgB, "running", "running")}, Waiting},
		{"Swarm is rolling back", service(imgA, "rollback_started", 1),
			[]Task{task(1, imgA, "running", "running")}, Waiting},
		{"Swarm rolled back", service(imgA, "rollback_completed", 1),
			[]Task{task(1, imgA, "running", "running"), task(1, imgB, "shutdown", "failed")}, Failed},
		{"an update paused", service(imgB, "paused", 1), nil, Failed},
		{"an earlier rollback, and now B unchanged", service(imgB, "rollback_completed", 1),
			[]Task{task(1, imgB, "running", "running")}, Done},
		{"someone else's image", service(imgA, "completed", 1), []Task{task(1, imgA, "running", "running")}, Failed},
		{"a new service crash-loops", service(imgB, "", 1), []Task{
			task(1, imgB, "shutdown", "failed"), task(1, imgB, "shutdown", "failed"), task(1, imgB, "shutdown", "failed"),
			task(1, imgB, "running", "starting")}, Failed},
		{"a tag names its pinned digest", service("nginx:1.27@sha256:cccc", "completed", 1),
			[]Task{task(1, "nginx:1.27@sha256:cccc", "running", "running")}, Done},
		{"scaled to zero", service(imgB, "completed", 0), nil, Done},
	} {
		want := imgB
		if strings.Contains(c.name, "tag") {
			want = "nginx:1.27"
		}
		if got, why := Converged(c.s, c.tasks, want, 3); got != c.want {
			t.Errorf("%s: got %d (%s), want %d", c.name, got, why, c.want)
		}
	}
}

func job(maxAttempts uint64, states ...string) (Service, []Task) {
	var s Service
	s.ID, s.Spec.Name = "svc1", "loandesk_migrate"
	s.Spec.Mode.ReplicatedJob = &struct{ TotalCompletions uint64 }{1}
	s.Spec.TaskTemplate.RestartPolicy = &struct {
		Condition   string
		MaxAttempts uint64
	}{"on-failure", maxAttempts}
	var tasks []Task
	for i, st := range states {
		tasks = append(tasks, task(i, imgB, "complete", st))
	}
	return s, tasks
}

func TestJobDone(t *testing.T) {
	for _, c := range []struct {
		name   string
		max    uint64
		states []string
		want   Outcome
	}{
		{"completed at the third try", 5, []string{"failed", "failed", "complete"}, Done},
		{"the first try and 5 restarts failed", 5, []string{"failed", "failed", "failed", "failed", "failed", "failed"}, Failed},
		{"5 failed, one restart left", 5, []string{"failed", "failed", "failed", "failed", "failed", "running"}, Waiting},
		{"no limit: only the timeout ends it", 0, []string{"failed", "failed", "failed", "failed", "failed", "failed", "failed"}, Waiting},
	} {
		s, tasks := job(c.max, c.states...)
		if got, why := JobDone(s, tasks); got != c.want {
			t.Errorf("%s: got %d (%s), want %d", c.name, got, why, c.want)
		}
	}
	var notJob Service
	if got, _ := JobDone(notJob, nil); got != Failed {
		t.Errorf("a service that is no job: %d", got)
	}
}

func TestRunningFailsOnlyWhatNothingRestarts(t *testing.T) {
	tasks := func(states ...string) []Task {
		var ts []Task
		for _, st := range states {
			var t Task
			t.Status.State = st
			ts = append(ts, t)
		}
		return ts
	}
	service := func(condition string) Service {
		var s Service
		s.Spec.TaskTemplate.RestartPolicy = &struct {
			Condition   string
			MaxAttempts uint64
		}{Condition: condition}
		return s
	}
	for _, c := range []struct {
		name      string
		condition string
		states    []string
		want      Outcome
	}{
		{"healthy", "none", []string{"running"}, Done},
		{"starting (its health check not passed yet)", "none", []string{"starting"}, Waiting},
		{"not scheduled yet", "none", nil, Waiting},
		{"failed, restarted by nothing", "none", []string{"failed"}, Failed},
		{"failed, restarted on failure", "on-failure", []string{"failed", "pending"}, Waiting},
		{"failed, a restart coming", "any", []string{"failed"}, Waiting},
	} {
		if got, why := Running(service(c.condition), tasks(c.states...)); got != c.want {
			t.Errorf("%s: got %d (%s), want %d", c.name, got, why, c.want)
		}
	}
}

// fakeEngine answers as a Swarm would: each answer of /services is the next
// of steps (the last one repeats), and /tasks the tasks of that step.
type fakeEngine struct {
	mu    sync.Mutex
	steps []struct {
		s     Service
		tasks []Task
	}
	i int
}

func (f *fakeEngine) add(s Service, tasks ...Task) {
	f.steps = append(f.steps, struct {
		s     Service
		tasks []Task
	}{s, tasks})
}

func (f *fakeEngine) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	step := f.steps[min(f.i, len(f.steps)-1)]
	switch {
	case r.URL.Path == "/services/loandesk_api":
		f.i++
		_ = json.NewEncoder(w).Encode(step.s)
	case r.URL.Path == "/tasks" && strings.Contains(r.URL.Query().Get("filters"), `"svc1":true`):
		_ = json.NewEncoder(w).Encode(append(step.tasks, Task{ServiceID: "other", DesiredState: "running"}))
	default:
		http.Error(w, `{"message":"no such service"}`, http.StatusNotFound)
	}
}

func wait(t *testing.T, f *fakeEngine, args ...string) (error, string) {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	var out bytes.Buffer
	env := func(k string) string {
		if k == "DOCKER_HOST" {
			return "tcp://" + strings.TrimPrefix(srv.URL, "http://")
		}
		return ""
	}
	err := run(context.Background(), append([]string{"-poll", "1ms", "-timeout", "1m"}, args...), env, &out)
	return err, out.String()
}

func TestAWaitFollowsTheUpdateToItsEnd(t *testing.T) {
	f := &fakeEngine{}
	f.add(service(imgB, "updating", 2), task(1, imgA, "running", "running"), task(2, imgA, "running", "running"))
	f.add(service(imgB, "updating", 2), task(1, imgB, "running", "running"), task(2, imgA, "running", "running"))
	f.add(service(imgB, "completed", 2), task(1, imgB, "running", "running"), task(2, imgB, "running", "running"))
	if err, out := wait(t, f, "service", "loandesk_api", imgB); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}

func TestAWaitFailsOnceTheRollbackIsOver(t *testing.T) {
	f := &fakeEngine{}
	f.add(service(imgB, "updating", 1), task(1, imgA, "running", "running"))
	f.add(service(imgA, "rollback_started", 1), task(1, imgA, "running", "running"))
	f.add(service(imgA, "rollback_completed", 1), task(1, imgA, "running", "running"))
	err, out := wait(t, f, "service", "loandesk_api", imgB)
	if err == nil || !strings.Contains(err.Error(), "rolled loandesk_api back to "+imgA) {
		t.Fatalf("got %v\n%s", err, out)
	}
	if f.i < 3 {
		t.Fatalf("failed before the rollback was over (%d looks)", f.i)
	}
}

func TestAWaitAsksAgainWhileTheServiceIsMissing(t *testing.T) {
	f := &fakeEngine{}
	f.add(service(imgB, "", 1), task(1, imgB, "running", "running"))
	err, out := wait(t, f, "-timeout", "20ms", "running", "loandesk_postgres")
	if err == nil || !strings.Contains(err.Error(), "not done after 20ms (no service loandesk_postgres yet)") {
		t.Fatalf("got %v\n%s", err, out)
	}
}

func TestBadUsageIsNamed(t *testing.T) {
	for _, args := range [][]string{{"service", "x"}, {"job"}, {"wait", "x"}, {"service", "x", ""}, {"away", "node3", "x", "none"}, {"node-down"}} {
		err := run(context.Background(), args, func(string) string { return "" }, &bytes.Buffer{})
		var u waitcli.UsageError
		if !errors.As(err, &u) {
			t.Errorf("%q: %v, want a usage error", args, err)
		}
	}
	err := run(context.Background(), []string{"job", "x"}, func(string) string { return "https://engine" }, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "want unix://, tcp:// or ssh://") {
		t.Errorf("an unknown DOCKER_HOST scheme: %v", err)
	}
}

func node(id, host, state, reach string, leader bool) Node {
	n := Node{ID: id}
	n.Description.Hostname, n.Status.State = host, state
	if reach != "" {
		n.ManagerStatus = &struct {
			Leader       bool
			Reachability string
		}{leader, reach}
	}
	return n
}

func TestNodeVerdicts(t *testing.T) {
	three := []Node{node("n1", "node1", "ready", "reachable", true), node("n2", "node2", "ready", "reachable", false), node("n3", "node3", "down", "unreachable", false)}
	if o, why := NodeDown(three, "node3"); o != Done {
		t.Errorf("node3 down: %v %s", o, why)
	}
	if o, why := NodeDown(three, "node2"); o != Waiting {
		t.Errorf("node2 ready: %v %s", o, why)
	}
	if o, _ := NodeDown(three, "node9"); o != Failed {
		t.Errorf("a node that is not there: %v", o)
	}
	if o, why := NodesReady(three); o != Waiting || !strings.Contains(why, "node3:down/unreachable") {
		t.Errorf("node3 still down: %v %s", o, why)
	}
	three[2] = node("n3", "node3", "ready", "reachable", false)
	if o, why := NodesReady(three); o != Done {
		t.Errorf("all back: %v %s", o, why)
	}
	three[2] = node("n3", "node3", "ready", "reachable", true)
	if o, why := NodesReady(three); o != Waiting {
		t.Errorf("two leaders: %v %s", o, why)
	}
	tasks := []Task{task(1, imgA, "running", "running"), task(2, imgA, "running", "running"), task(3, imgA, "running", "running"), task(3, imgA, "shutdown", "running")}
	tasks[0].NodeID, tasks[1].NodeID, tasks[2].NodeID, tasks[3].NodeID = "n1", "n2", "n3", "n2"
	if o, why := Away(three, tasks, "node3", 3); o != Waiting || why != "2 of 3 tasks run away from node3" {
		t.Errorf("one task still on node3: %v %s", o, why)
	}
	tasks[2].NodeID = "n1"
	if o, why := Away(three, tasks, "node3", 3); o != Done {
		t.Errorf("rescheduled: %v %s", o, why)
	}
}
