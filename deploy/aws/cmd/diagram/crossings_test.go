package main

import (
	"strings"
	"testing"
)

// Four nodes on a square's corners: a→d and b→c cross in the middle; a→b
// and c→d run along the sides; a→c shares a with a→d; an invisible edge
// crossing everything is a layout hint and does not count.
const square = `graph 1 4 4
node a 0 0 0.2 0.2 "(1) A
second line" solid box black lightgrey
node b 4 0 0.2 0.2 B solid box black lightgrey
node c 0 4 0.2 0.2 C solid box black lightgrey
node d 4 4 0.2 0.2 D solid box black lightgrey
edge a d 4 0 0 1 1 3 3 4 4 solid black
edge b c 4 4 0 3 1 1 3 0 4 "a label" 2 2 solid black
edge a b 4 0 0 1 0 3 0 4 0 solid black
edge c d 4 0 4 1 4 3 4 4 4 solid black
edge a c 4 0 0 0 1 0 3 0 4 solid black
edge b c 4 4 0 3 1 1 3 0 4 invis black
stop
`

func TestCrossingsCountsPairsThatCross(t *testing.T) {
	got, err := crossingsIn(square)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("crossings = %q, want the one of a→d and b→c", got)
	}
	if want := `"(1) A"→"D" crosses "B"→"C"`; got[0] != want {
		t.Errorf("crossing named %q, want %q (first line of each label)", got[0], want)
	}
}

func TestCrossingsNoneWhenApart(t *testing.T) {
	apart := strings.ReplaceAll(square, "edge b c 4 4 0 3 1 1 3 0 4 \"a label\" 2 2 solid black\n", "")
	got, err := crossingsIn(apart)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Errorf("crossings = %q, want none", got)
	}
}

func TestCrossingsRefusesWhatItCannotRead(t *testing.T) {
	for _, bad := range []string{
		"node a 0 0 0.2 0.2 \"unterminated\n",
		"edge a b x 0 0 1 1\n",
		"edge a b 4 0 0 1\n",
	} {
		if _, err := crossingsIn(bad); err == nil {
			t.Errorf("crossingsIn(%q) = nil error, want one", bad)
		}
	}
}
