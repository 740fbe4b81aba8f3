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
