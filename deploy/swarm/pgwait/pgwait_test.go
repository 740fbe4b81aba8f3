package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/loandesk/loandesk/deploy/swarm/waitcli"
)

func member(name, role, state string, tl int) Member {
	return Member{Name: name, Role: role, State: state, Timeline: tl}
}

func TestLeader(t *testing.T) {
	for _, c := range []struct {
		name string
		c    Cluster
		not  string
		want string
	}{
		{"the leader runs", Cluster{[]Member{member("pg1", "leader", "running", 1), member("pg2", "sync_standby", "streaming", 1)}}, "", "pg1"},
		{"the old one still holds the key", Cluster{[]Member{member("pg1", "leader", "running", 1)}}, "pg1", ""},
		{"a new one is still promoting", Cluster{[]Member{member("pg2", "leader", "starting", 2)}}, "pg1", ""},
		{"a new one runs", Cluster{[]Member{member("pg2", "leader", "running", 2), member("pg3", "replica", "streaming", 2)}}, "pg1", "pg2"},
		{"nobody leads", Cluster{[]Member{member("pg2", "replica", "streaming", 1)}}, "", ""},
	} {
		got, ok, why := Leader(c.c, c.not)
		if got != c.want || ok != (c.want != "") {
			t.Errorf("%s: %q %v (%s), want %q", c.name, got, ok, why, c.want)
		}
	}
}

func TestHealthy(t *testing.T) {
	want := []string{"pg1", "pg2", "pg3"}
	for _, c := range []struct {
		name string
		c    Cluster
		ok   bool
		why  string
	}{
		{"all back", Cluster{[]Member{member("pg2", "leader", "running", 2), member("pg1", "replica", "streaming", 2), member("pg3", "sync_standby", "streaming", 2)}}, true, "pg1 replica streaming TL2"},
		{"the old primary has not rejoined", Cluster{[]Member{member("pg2", "leader", "running", 2), member("pg3", "sync_standby", "streaming", 2)}}, false, "not a member yet: pg1"},
		{"the old primary rewinds", Cluster{[]Member{member("pg2", "leader", "running", 2), member("pg1", "replica", "starting", 1), member("pg3", "sync_standby", "streaming", 2)}}, false, "not every replica streams"},
		{"no synchronous standby", Cluster{[]Member{member("pg2", "leader", "running", 2), member("pg1", "replica", "streaming", 2), member("pg3", "replica", "streaming", 2)}}, false, "no synchronous standby"},
		{"two leaders", Cluster{[]Member{member("pg2", "leader", "running", 2), member("pg1", "leader", "running", 1), member("pg3", "sync_standby", "streaming", 2)}}, false, "2 running leaders"},
	} {
		ok, why := Healthy(c.c, want)
		if ok != c.ok || !strings.Contains(why, c.why) {
			t.Errorf("%s: %v %q, want %v and %q", c.name, ok, why, c.ok, c.why)
		}
	}
}

// fakePatroni is a cluster of members, each an HTTP server answering as
// Patroni's REST API does; steps are the cluster's states, in the order
// the /cluster answers give them (the last one repeats).
type fakePatroni struct {
	mu       sync.Mutex
	steps    []Cluster
	i        int
	servers  map[string]*httptest.Server
	switched string // the candidate a switchover asked for
	auth     string
}

func newFake(t *testing.T, names ...string) *fakePatroni {
	f := &fakePatroni{servers: map[string]*httptest.Server{}}
	for _, n := range names {
		name := n
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { f.serve(name, w, r) }))
		t.Cleanup(srv.Close)
		f.servers[name] = srv
	}
	return f
}

func (f *fakePatroni) now() Cluster { return f.steps[min(f.i, len(f.steps)-1)] }

func (f *fakePatroni) serve(name string, w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch r.URL.Path {
	case "/cluster":
		c := f.now()
		f.i++
		_ = json.NewEncoder(w).Encode(c)
	case "/primary":
		for _, m := range f.now().Members {
			if m.Name == name && m.Role == "leader" && m.State == "running" {
				return
			}
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	case "/switchover":
		u, p, _ := r.BasicAuth()
		f.auth = u + ":" + p
		var body map[string]string
		_ = json.NewDecoder(r.Body).Decode(&body)
		if body["leader"] != name || p != "rest-secret" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		f.switched = body["candidate"]
		f.steps, f.i = []Cluster{{[]Member{member(body["candidate"], "leader", "running", 2), member(name, "replica", "streaming", 2)}}}, 0
		_, _ = w.Write([]byte("Successfully switched over"))
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

func (f *fakePatroni) wait(t *testing.T, args ...string) (string, error) {
	t.Helper()
	all := []string{"-poll", "1ms", "-timeout", "1m"}
	for n, s := range f.servers {
		all = append(all, "-member", n+"="+s.URL)
	}
	var out, log bytes.Buffer
	err := run(context.Background(), append(all, args...), &out, &log)
	if err != nil {
		t.Logf("pgwait said:\n%s", log.String())
	}
	return strings.TrimSpace(out.String()), err
}

// After the primary is lost, the wait ends only when another member both
// holds the leader key and answers as a running primary.
func TestAWaitForANewPrimaryEndsWhenItTakesWrites(t *testing.T) {
	f := newFake(t, "pg1", "pg2", "pg3")
	f.steps = []Cluster{
		{[]Member{member("pg1", "leader", "running", 1), member("pg2", "sync_standby", "streaming", 1)}},
		{[]Member{member("pg2", "sync_standby", "streaming", 1)}},
		{[]Member{member("pg2", "leader", "starting", 2)}},
		{[]Member{member("pg2", "leader", "running", 2), member("pg3", "sync_standby", "streaming", 2)}},
	}
	got, err := f.wait(t, "leader", "-not", "pg1")
	if err != nil || got != "pg2" {
		t.Fatalf("leader: %q %v, want pg2", got, err)
	}
	if f.i < 4 {
		t.Fatalf("answered after %d looks, before pg2 was running", f.i)
	}
}

func TestASwitchoverMovesThePrimaryWithTheCredentials(t *testing.T) {
	f := newFake(t, "pg1", "pg2", "pg3")
	f.steps = []Cluster{{[]Member{member("pg1", "leader", "running", 1), member("pg3", "sync_standby", "streaming", 1)}}}
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte("rest-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// No name: to the synchronous standby, the one Patroni hands over to.
	got, err := f.wait(t, "-password-file", pw, "switchover")
	if err != nil || !strings.HasPrefix(got, "pg3 ") || f.switched != "pg3" || f.auth != "patroni:rest-secret" {
		t.Fatalf("switchover: %q %v (asked %q as %q)", got, err, f.switched, f.auth)
	}
}

func TestAClusterThatNeverHealsTimesOut(t *testing.T) {
	f := newFake(t, "pg1", "pg2", "pg3")
	f.steps = []Cluster{{[]Member{member("pg2", "leader", "running", 2), member("pg3", "sync_standby", "streaming", 2)}}}
	_, err := f.wait(t, "-timeout", "20ms", "healthy")
	if err == nil || !strings.Contains(err.Error(), "not a member yet: pg1") {
		t.Fatalf("healthy: %v, want a timeout naming pg1", err)
	}
}

func TestBadUsageIsNamed(t *testing.T) {
	for _, args := range [][]string{
		{"leader"},
		{"-member", "pg1=http://x", "leader", "extra"},
		{"-member", "pg1=http://x", "switchover", "pg9"},
		{"-member", "pg1=http://x", "switchover"},
		{"-member", "pg1", "healthy"},
		{"-member", "pg1=http://x", "promote"},
	} {
		err := run(context.Background(), args, &bytes.Buffer{}, &bytes.Buffer{})
		var u waitcli.UsageError
		if !errors.As(err, &u) {
			t.Errorf("%q: %v, want a usage error", args, err)
		}
	}
}
