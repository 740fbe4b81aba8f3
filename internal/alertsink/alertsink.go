// Package alertsink is an operator's webhook for the alert rehearsals
// (make test-chaos, make test-swarm): it takes Alertmanager's posts and
// records when each alert was first seen firing, and first seen resolved
// after that, so a rehearsal can wait for them and print the seconds.
package alertsink

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// Sink is the webhook. Alerts that started before Since (a previous
// fault's, delivered late) are not counted.
type Sink struct {
	mu       sync.Mutex
	since    time.Time
	fired    map[string]time.Time
	resolved map[string]time.Time
	posts    int
	bad      int
}

// New returns a sink that counts alerts starting after since.
func New(since time.Time) *Sink {
	return &Sink{since: since, fired: map[string]time.Time{}, resolved: map[string]time.Time{}}
}

// payload is the part of Alertmanager's webhook payload (version 4) read here.
type payload struct {
	Version string `json:"version"`
	Alerts  []struct {
		Status   string            `json:"status"`
		Labels   map[string]string `json:"labels"`
		StartsAt time.Time         `json:"startsAt"`
	} `json:"alerts"`
}

// ServeHTTP takes one post.
func (s *Sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var p payload
	err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&p)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.posts++
	if err != nil || r.Method != http.MethodPost || p.Version != "4" {
		s.bad++
		http.Error(w, "want Alertmanager's webhook payload, version 4", http.StatusBadRequest)
		return
	}
	now := time.Now()
	for _, a := range p.Alerts {
		name := a.Labels["alertname"]
		if a.StartsAt.Before(s.since) {
			continue
		}
		switch a.Status {
		case "firing":
			if _, ok := s.fired[name]; !ok {
				s.fired[name] = now
			}
		case "resolved":
			if _, ok := s.fired[name]; ok {
				if _, ok := s.resolved[name]; !ok {
					s.resolved[name] = now
				}
			}
		}
	}
}

// Posts counts the posts taken, and those that were not a webhook payload.
func (s *Sink) Posts() (all, bad int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.posts, s.bad
}

// Fired names every alert seen firing.
func (s *Sink) Fired() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var names []string
	for n := range s.fired {
		names = append(names, n)
	}
	return names
}

// Wait waits until every one of names has been seen firing (resolved
// false) or resolved (resolved true), for at most bound after from, and
// returns each one's seconds after from; missing names those not seen.
func (s *Sink) Wait(ctx context.Context, names []string, resolved bool, from time.Time, bound time.Duration) (secs map[string]float64, missing []string) {
	for {
		secs, missing = map[string]float64{}, nil
		s.mu.Lock()
		seen := s.fired
		if resolved {
			seen = s.resolved
		}
		for _, n := range names {
			if t, ok := seen[n]; ok {
				secs[n] = t.Sub(from).Seconds()
			} else {
				missing = append(missing, n)
			}
		}
		s.mu.Unlock()
		if len(missing) == 0 || time.Since(from) > bound || ctx.Err() != nil {
			return secs, missing
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// Report prints each name's seconds, as "fired" or "resolved".
func Report(w io.Writer, names []string, secs map[string]float64, what, after string) {
	for _, n := range names {
		if v, ok := secs[n]; ok {
			fmt.Fprintf(w, "  %-20s %s, at the webhook %5.1f s after the %s\n", n, what, v, after)
		}
	}
}
