// Package phase gives a rehearsal's verdict in Go: the prober and the loader
// tally every request under the phase it was sent in (a name the rehearsal
// script writes to a file: "b", "node3-down"; a failure that ends in a later
// phase, under that one: Blame), print one line per phase, and fail on the
// rules they were given. The shell only names the phases; no awk
// over a CSV decides anything.
//
// A phase named with a trailing "~" ("one-node-down~") begins when the
// service has recovered from the fault before it and stays so: at the first
// of the successful key requests (Key: filings, which a database outage
// refuses; pages from the edge succeed throughout) that run unbroken, by the
// time they were sent, to the phase's end — at least RecoveryRun of them.
// How long a recovery takes is the machine's business (a busy one flaps for
// a while); that it ends, and holds, is the rule. Failures sent before it
// belong to the recovery, are counted and printed apart, and are not held
// against the phase; every failure after it is (a page's too). A phase that
// never recovers breaks the rules.
package phase

import (
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Tracker follows the phase file. Read it with Poll (the tools poll every
// 100 ms, as they poll their -stop file); Current is safe from any goroutine.
type Tracker struct {
	path string
	now  func() time.Time

	mu    sync.Mutex
	name  string
	since time.Time
}

// Before is the phase of requests sent before the file names one.
const Before = "before"

// NewTracker follows path; with path "" every request is in phase Before.
func NewTracker(path string) *Tracker {
	t := &Tracker{path: path, now: time.Now, name: Before}
	t.since = t.now()
	t.Poll()
	return t
}

// Poll reads the file. A missing or empty file (the script writes it with a
// rename, but an editor may not) keeps the phase it had.
func (t *Tracker) Poll() {
	if t.path == "" {
		return
	}
	b, err := os.ReadFile(t.path)
	name := strings.TrimSpace(string(b))
	if err != nil || name == "" {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if name != t.name {
		t.name, t.since = name, t.now()
	}
}

// Blame is the phase a request sent in phase (begun at begin) is counted
// in once it ended: its own, unless it failed after the file named a later
// phase. A request in flight when the script injects a fault (it names the
// phase, then kills the node) fails by that fault, so the fault's phase
// answers for it; one that succeeds, or fails before, stays where it was
// sent.
func (t *Tracker) Blame(phase string, begin time.Time, ok bool) (string, time.Time) {
	if ok {
		return phase, begin
	}
	return t.Current()
}

// Current is the phase now and when it began.
func (t *Tracker) Current() (string, time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.name, t.since
}

// Stats is one phase's tally.
type Stats struct {
	Name            string
	Begin, End      time.Time // when the phase began, and its last request was sent
	Requests, Fails int
	// FirstFail and LastFail are when the first and the last failed request
	// of the phase were sent: the clients' view of an outage.
	FirstFail, LastFail time.Time
	// Of a recovering phase ("name~"): when its key requests and its
	// failures were sent, at most MaxRecoveryEvents of each (any more
	// failures count against the phase; key requests past it are ignored).
	keys      []keyEvent
	failTimes []time.Time
	overflow  int
	// Served counts answers by the release that gave them (the X-Release
	// header; "" when the answer named none), First is when each was first
	// seen, from the phase's beginning.
	Served map[string]int
	First  map[string]time.Duration
}

// MaxReleases is how many releases a phase tells apart; the answers of any
// more are counted as Other (which no -allow names, so they fail the phase).
const MaxReleases = 16

// MaxRecoveryEvents bounds what a recovering phase remembers.
const MaxRecoveryEvents = 100000

// RecoveryRun is how many key requests in a row, by the time they were
// sent, must succeed before a recovering phase counts as recovered.
const RecoveryRun = 20

type keyEvent struct {
	sent time.Time
	ok   bool
}

// Recovering says whether a phase begins only once the service recovers.
func Recovering(phase string) bool { return strings.HasSuffix(phase, "~") }

// Other stands for the releases past MaxReleases.
const Other = "(other)"

// Tally counts requests by phase; safe from any goroutine. Its size is the
// number of phases (the script's) times at most MaxReleases + 1.
type Tally struct {
	mu     sync.Mutex
	phases []*Stats
}

// Add records one request sent at sent during the phase that began at begin.
func (t *Tally) Add(phase string, begin, sent time.Time, release string, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	i := slices.IndexFunc(t.phases, func(s *Stats) bool { return s.Name == phase })
	if i < 0 {
		t.phases = append(t.phases, &Stats{Name: phase, Begin: begin, Served: map[string]int{}, First: map[string]time.Duration{}})
		i = len(t.phases) - 1
	}
	s := t.phases[i]
	s.Requests++
	if !ok && Recovering(phase) {
		if len(s.failTimes) < MaxRecoveryEvents {
			s.failTimes = append(s.failTimes, sent)
		} else {
			s.overflow++
		}
	}
	if !ok {
		s.Fails++
		if s.FirstFail.IsZero() || sent.Before(s.FirstFail) {
			s.FirstFail = sent
		}
		if sent.After(s.LastFail) {
			s.LastFail = sent
		}
	}
	if sent.After(s.End) {
		s.End = sent
	}
	if _, seen := s.Served[release]; !seen && len(s.Served) >= MaxReleases {
		release = Other // a server naming a new release per answer cannot grow the tally
	}
	if _, seen := s.First[release]; !seen || sent.Sub(s.Begin) < s.First[release] {
		s.First[release] = sent.Sub(s.Begin)
	}
	s.Served[release]++
}

// Key records, in a recovering phase, how a key request sent at sent went
// (after Add has counted it): what says whether the service has recovered.
func (t *Tally) Key(phase string, sent time.Time, ok bool) {
	if !Recovering(phase) {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, s := range t.phases {
		if s.Name == phase && len(s.keys) < MaxRecoveryEvents {
			s.keys = append(s.keys, keyEvent{sent, ok})
		}
	}
}

// RecoveredAt is when the first of the successful key requests that run
// unbroken to the phase's end was sent, if they are RecoveryRun or more;
// zero otherwise.
func (s Stats) RecoveredAt() time.Time {
	keys := slices.Clone(s.keys)
	sort.SliceStable(keys, func(i, j int) bool { return keys[i].sent.Before(keys[j].sent) })
	first := len(keys)
	for first > 0 && keys[first-1].ok {
		first--
	}
	if len(keys)-first < RecoveryRun {
		return time.Time{}
	}
	return keys[first].sent
}

// failedAfterRecovery is how many of a recovering phase's failures were
// sent once it had recovered (all of them, if it never did).
func (s Stats) failedAfterRecovery() int {
	at := s.RecoveredAt()
	if at.IsZero() {
		return s.Fails
	}
	n := s.overflow
	for _, f := range s.failTimes {
		if !f.Before(at) {
			n++
		}
	}
	return n
}

// Phases is a copy of the tally, in the order the phases began.
func (t *Tally) Phases() []Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Stats, 0, len(t.phases))
	for _, s := range t.phases {
		c := *s
		c.Served, c.First, c.failTimes, c.keys = maps.Clone(s.Served), maps.Clone(s.First), slices.Clone(s.failTimes), slices.Clone(s.keys)
		out = append(out, c)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Begin.Before(out[j].Begin) })
	return out
}

// Report prints one line per phase: how long it lasted (to its last
// request), the requests, the failures, and who answered when.
func (t *Tally) Report(w io.Writer, tool string) {
	for _, s := range t.Phases() {
		fmt.Fprintf(w, "%s: phase %-14s %6.1f s  %6d requests  %4d failed", tool, s.Name, s.End.Sub(s.Begin).Seconds(), s.Requests, s.Fails)
		if s.Fails > 0 {
			fmt.Fprintf(w, " (sent from +%.1f s to +%.1f s)", s.FirstFail.Sub(s.Begin).Seconds(), s.LastFail.Sub(s.Begin).Seconds())
		}
		if at := s.RecoveredAt(); Recovering(s.Name) && !at.IsZero() {
			fmt.Fprintf(w, "  recovered at +%.1f s, %d failed after", at.Sub(s.Begin).Seconds(), s.failedAfterRecovery())
		}
		releases := make([]string, 0, len(s.Served))
		for r := range s.Served {
			releases = append(releases, r)
		}
		sort.Slice(releases, func(i, j int) bool { return s.First[releases[i]] < s.First[releases[j]] })
		for _, r := range releases {
			if r == "" && len(releases) == 1 {
				continue // a tool that reads no release
			}
			fmt.Fprintf(w, "  %s ×%d from +%.1f s", orNone(r), s.Served[r], s.First[r].Seconds())
		}
		fmt.Fprintln(w)
	}
}

// Rules are what a rehearsal demands of its requests.
type Rules struct {
	// MaxFailed is how many requests may fail in each phase (a rolling
	// update that drops nothing: 0), unless MaxFailedIn names the phase (a
	// failover, whose refused requests are retried and counted).
	MaxFailed   int
	MaxFailedIn map[string]int
	// MinRequests is how many requests there must be in all: a verdict on
	// too little traffic proves nothing.
	MinRequests int
	// Allow names, per phase, the only releases that may answer in it (the
	// old one and the new one during an update, the new one after it, never
	// the one Swarm rolled back); each phase named must have seen requests.
	Allow map[string][]string
}

// Check returns every rule the tally breaks; none is a pass.
func (t *Tally) Check(r Rules) []string {
	var problems []string
	total := 0
	seen := map[string]bool{}
	for _, s := range t.Phases() {
		total += s.Requests
		seen[s.Name] = true
		most, named := r.MaxFailedIn[s.Name]
		if !named {
			most = r.MaxFailed
		}
		switch {
		case Recovering(s.Name) && s.RecoveredAt().IsZero():
			problems = append(problems, fmt.Sprintf("phase %s: never recovered (%d requests, no %d key requests in a row succeeded to its end)", s.Name, s.Requests, RecoveryRun))
		case Recovering(s.Name) && s.failedAfterRecovery() > most:
			problems = append(problems, fmt.Sprintf("phase %s: %d requests failed after it recovered (at most %d)", s.Name, s.failedAfterRecovery(), most))
		case !Recovering(s.Name) && s.Fails > most:
			problems = append(problems, fmt.Sprintf("phase %s: %d of %d requests failed (at most %d)", s.Name, s.Fails, s.Requests, most))
		}
		allowed, ok := r.Allow[s.Name]
		if !ok {
			continue
		}
		for rel, n := range s.Served {
			if !slices.Contains(allowed, rel) {
				problems = append(problems, fmt.Sprintf("phase %s: %d answers from release %s (only %s may answer)", s.Name, n, orNone(rel), strings.Join(allowed, " or ")))
			}
		}
	}
	for name := range r.Allow {
		if !seen[name] {
			problems = append(problems, fmt.Sprintf("phase %s: no requests at all", name))
		}
	}
	if total < r.MinRequests {
		problems = append(problems, fmt.Sprintf("%d requests in all (at least %d)", total, r.MinRequests))
	}
	sort.Strings(problems)
	return problems
}

// AllowFlag is the flag.Value of repeated -allow PHASE=REL1|REL2 rules.
type AllowFlag map[string][]string

func (a AllowFlag) String() string {
	parts := make([]string, 0, len(a))
	for p, rels := range a {
		parts = append(parts, p+"="+strings.Join(rels, "|"))
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// Set reads one PHASE=REL1|REL2 rule.
func (a AllowFlag) Set(v string) error {
	name, rels, ok := strings.Cut(v, "=")
	if !ok || name == "" || rels == "" {
		return fmt.Errorf("want PHASE=RELEASE[|RELEASE…], got %q", v)
	}
	a[name] = append(a[name], strings.Split(rels, "|")...)
	return nil
}

// CountFlag is the flag.Value of repeated -max-failed-in PHASE=N rules.
type CountFlag map[string]int

func (c CountFlag) String() string {
	parts := make([]string, 0, len(c))
	for p, n := range c {
		parts = append(parts, fmt.Sprintf("%s=%d", p, n))
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// Set reads one PHASE=N rule.
func (c CountFlag) Set(v string) error {
	name, n, ok := strings.Cut(v, "=")
	count, err := strconv.Atoi(n)
	if !ok || name == "" || err != nil || count < 0 {
		return fmt.Errorf("want PHASE=COUNT, got %q", v)
	}
	c[name] = count
	return nil
}

func orNone(release string) string {
	if release == "" {
		return "(none)"
	}
	return release
}
