package phase

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)

func at(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

func TestTheTrackerFollowsTheFileAndKeepsItsPhaseWhileTheFileIsEmpty(t *testing.T) {
	path := filepath.Join(t.TempDir(), "phase")
	now := t0
	tr := &Tracker{path: path, now: func() time.Time { return now }, name: Before, since: now}
	tr.Poll() // no file yet
	if name, _ := tr.Current(); name != Before {
		t.Fatalf("without a file: %q, want %q", name, Before)
	}
	write := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	now = at(2)
	write("b\n")
	tr.Poll()
	if name, since := tr.Current(); name != "b" || !since.Equal(at(2)) {
		t.Fatalf("got %q since %v, want b since +2 s", name, since)
	}
	now = at(3)
	tr.Poll() // the same phase: it began when it was first seen
	write("") // a writer half-way
	tr.Poll()
	if name, since := tr.Current(); name != "b" || !since.Equal(at(2)) {
		t.Fatalf("got %q since %v, want b since +2 s still", name, since)
	}
}

func TestAnUpdateThatServesOnlyTheAllowedReleasesPasses(t *testing.T) {
	var tl Tally
	tl.Add("before", at(0), at(0.1), "A", true)
	tl.Add("b", at(1), at(1.5), "A", true)
	tl.Add("b", at(1), at(3.25), "B", true)
	tl.Add("b", at(1), at(2.5), "B", true) // answers arrive out of order
	tl.Add("b-done", at(5), at(5.1), "B", true)
	rules := Rules{MinRequests: 5, Allow: AllowFlag{"b": {"A", "B"}, "b-done": {"B"}}}
	if problems := tl.Check(rules); len(problems) > 0 {
		t.Fatalf("problems: %q", problems)
	}
	var out bytes.Buffer
	tl.Report(&out, "prober")
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("want one line per phase, got:\n%s", out.String())
	}
	// B first answered 1.5 s into phase b; the phase's last request left at +3.25.
	if !strings.Contains(lines[1], "phase b ") || !strings.Contains(lines[1], "2.2 s") || !strings.Contains(lines[1], "B ×2 from +1.5 s") {
		t.Fatalf("phase b's line: %s", lines[1])
	}
}

func TestEveryBrokenRuleIsNamed(t *testing.T) {
	var tl Tally
	tl.Add("b", at(0), at(1), "A", true)
	tl.Add("b", at(0), at(2), "", false) // refused: no release
	tl.Add("c", at(3), at(3.5), "C", true)
	problems := tl.Check(Rules{MaxFailed: 0, MinRequests: 10, Allow: AllowFlag{"b": {"A"}, "c": {"B"}, "after": {"B"}}})
	want := []string{
		"3 requests in all (at least 10)",
		"phase after: no requests at all",
		"phase b: 1 answers from release (none) (only A may answer)",
		"phase b: 1 of 2 requests failed (at most 0)",
		"phase c: 1 answers from release C (only B may answer)",
	}
	if strings.Join(problems, "\n") != strings.Join(want, "\n") {
		t.Fatalf("problems:\n%s\nwant:\n%s", strings.Join(problems, "\n"), strings.Join(want, "\n"))
	}
	if got := tl.Check(Rules{MaxFailed: 1}); len(got) != 0 {
		t.Fatalf("one failure allowed: %q", got)
	}
}

func TestTheAllowFlagReadsRepeatedRules(t *testing.T) {
	a := AllowFlag{}
	for _, v := range []string{"b=A|B", "c=B", "c=D"} {
		if err := a.Set(v); err != nil {
			t.Fatal(err)
		}
	}
	if a.String() != "b=A|B,c=B|D" {
		t.Fatalf("got %s", a.String())
	}
	for _, bad := range []string{"b", "=A", "b="} {
		if err := a.Set(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestAServerNamingANewReleasePerAnswerCannotGrowTheTally(t *testing.T) {
	var tl Tally
	for i := range 1000 {
		tl.Add("b", at(0), at(float64(i)/100), "r"+strings.Repeat("x", i%50)+string(rune('a'+i%26)), true)
	}
	s := tl.Phases()[0]
	if len(s.Served) != MaxReleases+1 || s.Served[Other] == 0 {
		t.Fatalf("%d releases kept, %d answers as %s; want %d and some", len(s.Served), s.Served[Other], Other, MaxReleases+1)
	}
	if got := tl.Check(Rules{Allow: AllowFlag{"b": {"ra"}}}); len(got) == 0 {
		t.Fatal("answers from releases nobody allowed passed")
	}
}

// A failover phase may refuse some requests (retried, and counted); its
// line says when the refusals began and ended; every other phase still
// allows MaxFailed.
func TestAPhaseNamedInMaxFailedInMayRefuseThatMany(t *testing.T) {
	var tl Tally
	tl.Add("steady", at(0), at(1), "", true)
	tl.Add("steady", at(0), at(2), "", false)
	tl.Add("failover", at(10), at(11), "", true)
	for _, s := range []float64{12, 13.5, 20} {
		tl.Add("failover", at(10), at(s), "", false)
	}
	tl.Add("failover", at(10), at(21), "", true)
	allow := CountFlag{}
	if err := allow.Set("failover=3"); err != nil {
		t.Fatal(err)
	}
	got := tl.Check(Rules{MaxFailed: 0, MaxFailedIn: allow})
	if want := "phase steady: 1 of 2 requests failed (at most 0)"; strings.Join(got, "\n") != want {
		t.Fatalf("problems %q, want only %q", got, want)
	}
	var out strings.Builder
	tl.Report(&out, "loader")
	if !strings.Contains(out.String(), "3 failed (sent from +2.0 s to +10.0 s)") {
		t.Fatalf("the failover's line does not say when it refused:\n%s", out.String())
	}
	for _, bad := range []string{"failover", "failover=x", "=3", "failover=-1"} {
		if err := allow.Set(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// A recovering phase ("name~") begins at the first of RecoveryRun key
// requests in a row that succeed (by send time, whatever order the answers
// come in): failures sent before belong to the recovery (counted, printed,
// allowed); failures sent after break the phase; so does never recovering.
func TestARecoveringPhaseBeginsOnceKeyRequestsSucceedInARow(t *testing.T) {
	var tl Tally
	p := "one-node-down~"
	add := func(s float64, ok bool) {
		tl.Add(p, at(0), at(s), "", ok)
		tl.Key(p, at(s), ok)
	}
	add(0.1, true) // one early success is no recovery
	add(1, false)
	add(2, false)
	for i := range RecoveryRun { // answered out of order
		add(3+float64(RecoveryRun-1-i)*0.1, true)
	}
	tl.Add(p, at(0), at(2.5), "", false) // a page that failed during the recovery
	if got := tl.Check(Rules{}); len(got) != 0 {
		t.Fatalf("failures before the recovery broke the phase: %q", got)
	}
	var out strings.Builder
	tl.Report(&out, "loader")
	if !strings.Contains(out.String(), "recovered at +3.0 s, 0 failed after") {
		t.Fatalf("the recovery is not reported:\n%s", out.String())
	}
	add(10, false) // it did not hold: the recovery is still to come
	if got := tl.Check(Rules{}); len(got) != 1 || !strings.Contains(got[0], "never recovered") {
		t.Fatalf("a filing failed after a run of successes, at the phase's end: %q", got)
	}
	for i := range RecoveryRun {
		add(11+float64(i)*0.1, true)
	}
	out.Reset()
	tl.Report(&out, "loader")
	if got := tl.Check(Rules{}); len(got) != 0 || !strings.Contains(out.String(), "recovered at +11.0 s, 0 failed after") {
		t.Fatalf("recovered for good at +11 s: %q\n%s", got, out.String())
	}
	tl.Add(p, at(0), at(30), "", false) // a page that fails once it has recovered
	if got := tl.Check(Rules{}); len(got) != 1 || !strings.Contains(got[0], "1 requests failed after it recovered") {
		t.Fatalf("a failure after the recovery: %q", got)
	}
	var never Tally
	for s := range 30 {
		never.Add("stuck~", at(0), at(float64(s)), "", s%5 != 0)
		never.Key("stuck~", at(float64(s)), s%5 != 0)
	}
	if got := never.Check(Rules{}); len(got) != 1 || !strings.Contains(got[0], "never recovered") {
		t.Fatalf("a phase that never recovered: %q", got)
	}
}

// A request in flight when the script names the next phase (and then
// injects its fault) is that phase's if it fails; if it succeeds, or the
// phase did not change, it stays in the phase it was sent in.
func TestAFailureInFlightWhenThePhaseChangesIsTheNextPhases(t *testing.T) {
	file := filepath.Join(t.TempDir(), "phase")
	if err := os.WriteFile(file, []byte("c-done\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tr := NewTracker(file)
	sentIn, begin := tr.Current()
	if p, _ := tr.Blame(sentIn, begin, false); p != "c-done" {
		t.Fatalf("a failure within its phase is blamed on %q", p)
	}
	if err := os.WriteFile(file, []byte("primary-down\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tr.Poll()
	if p, b := tr.Blame(sentIn, begin, false); p != "primary-down" || !b.After(begin) && !b.Equal(begin) {
		t.Fatalf("a failure in flight across the change is blamed on %q (begun %v)", p, b)
	}
	if p, b := tr.Blame(sentIn, begin, true); p != "c-done" || !b.Equal(begin) {
		t.Fatalf("a success across the change is counted in %q", p)
	}
}
