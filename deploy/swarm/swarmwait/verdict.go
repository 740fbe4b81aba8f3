package main

import (
	"fmt"
	"strings"
)

// Service and Task are the fields of the Engine API's answers that the
// verdicts read (GET /services/{id}, GET /tasks).
type Service struct {
	ID   string
	Spec struct {
		Name string
		Mode struct {
			Replicated *struct {
				Replicas uint64
			}
			Global        *struct{}
			ReplicatedJob *struct {
				TotalCompletions uint64
			}
		}
		TaskTemplate struct {
			ContainerSpec struct{ Image string }
			RestartPolicy *struct {
				Condition   string
				MaxAttempts uint64
			}
		}
	}
	UpdateStatus *struct {
		State   string
		Message string
	}
}

type Task struct {
	ID, ServiceID, NodeID string
	Slot                  int
	DesiredState          string
	Status                struct {
		State, Err, Message string
	}
	Spec struct {
		ContainerSpec struct{ Image string }
	}
}

// Outcome is where a wait stands.
type Outcome int

const (
	Waiting Outcome = iota
	Done            // the service runs the image on every task; the job completed; a task runs
	Failed          // rolled back, paused, crash-looping, or out of attempts
)

func (s Service) image() string { return s.Spec.TaskTemplate.ContainerSpec.Image }

func (s Service) updateState() string {
	if s.UpdateStatus == nil {
		return ""
	}
	return s.UpdateStatus.State
}

// sameImage: the docker CLI pins a tag to its digest ("nginx:1.27" is
// deployed as "nginx:1.27@sha256:…"), so a reference without a digest names
// that one too.
func sameImage(running, want string) bool {
	return running == want || (!strings.Contains(want, "@") && strings.HasPrefix(running, want+"@"))
}

// Converged is the verdict on a service that was just given image want:
// Done once every task meant to run runs want (as many as the replicas it
// asks for), Failed when Swarm rolled the update back or paused it, or when
// a new service (no update to roll back) has crashLoop failed tasks of want.
func Converged(s Service, tasks []Task, want string, crashLoop int) (Outcome, string) {
	state := s.updateState()
	if !sameImage(s.image(), want) {
		switch state {
		case "rollback_started":
			return Waiting, "Swarm is rolling the update back"
		case "rollback_completed", "rollback_paused", "paused":
			return Failed, fmt.Sprintf("the update failed its health checks; Swarm rolled %s back to %s (%s)", s.Spec.Name, s.image(), state)
		}
		return Failed, fmt.Sprintf("%s is meant to run %s, not %s: another deploy changed it", s.Spec.Name, s.image(), want)
	}
	switch state {
	case "updating", "rollback_started":
		return Waiting, "update " + state
	case "paused", "rollback_paused":
		return Failed, fmt.Sprintf("the update of %s is %s: %s", s.Spec.Name, state, s.UpdateStatus.Message)
	}
	running, stale, failed, meant := 0, 0, 0, 0
	for _, t := range tasks {
		if t.DesiredState == "running" {
			meant++
		}
		if !sameImage(t.Spec.ContainerSpec.Image, want) {
			if t.DesiredState == "running" {
				stale++
			}
			continue
		}
		if t.DesiredState == "running" && t.Status.State == "running" {
			running++
		}
		if t.Status.State == "failed" || t.Status.State == "rejected" {
			failed++
		}
	}
	wantTasks := 0
	if r := s.Spec.Mode.Replicated; r != nil {
		wantTasks = int(r.Replicas)
	}
	switch {
	case s.Spec.Mode.Replicated != nil && wantTasks == 0 && meant == 0:
		return Done, "scaled to 0"
	case stale == 0 && running == meant && running > 0 && running >= wantTasks:
		return Done, fmt.Sprintf("%d of %d tasks run it", running, max(meant, wantTasks))
	case state == "" && failed >= crashLoop:
		return Failed, fmt.Sprintf("%s keeps failing: %d failed tasks of %s", s.Spec.Name, failed, want)
	}
	return Waiting, fmt.Sprintf("%d of %d tasks run it", running, max(meant, wantTasks))
}

// JobDone is the verdict on a replicated job: Done once a task completed,
// Failed once its tasks failed more times than its restart policy allows
// (the first try and MaxAttempts restarts; 0 attempts is no limit: only the
// timeout ends it).
func JobDone(s Service, tasks []Task) (Outcome, string) {
	if s.Spec.Mode.ReplicatedJob == nil {
		return Failed, s.Spec.Name + " is not a replicated job"
	}
	failed := 0
	for _, t := range tasks {
		switch t.Status.State {
		case "complete":
			return Done, "complete"
		case "failed", "rejected":
			failed++
		}
	}
	if p := s.Spec.TaskTemplate.RestartPolicy; p != nil && p.MaxAttempts > 0 && uint64(failed) > p.MaxAttempts {
		return Failed, fmt.Sprintf("%d tries failed (the first and %d restarts)", failed, p.MaxAttempts)
	}
	return Waiting, fmt.Sprintf("%d tries failed", failed)
}

// Running is Done once a task of the service runs (a task with a health
// check runs once healthy). It is Failed when none ever will: the service
// restarts nothing (condition none) and every task has ended (a restore that
// failed), rather than waiting out the timeout.
func Running(s Service, tasks []Task) (Outcome, string) {
	ended := 0
	for _, t := range tasks {
		switch t.Status.State {
		case "running":
			return Done, "a task runs"
		case "failed", "rejected", "complete", "shutdown", "orphaned":
			ended++
		}
	}
	if p := s.Spec.TaskTemplate.RestartPolicy; p != nil && p.Condition == "none" && ended > 0 && ended == len(tasks) {
		return Failed, fmt.Sprintf("its task ended (%s) and nothing restarts it", tasks[len(tasks)-1].Status.State)
	}
	return Waiting, "no task runs yet"
}
