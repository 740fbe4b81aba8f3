package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestTheVerdictHoldsTheRestoreToItsTarget(t *testing.T) {
	const T = 1000.0
	primary := map[string]float64{"a": 900, "b": 985, "c": 990, "d": 999.9, "e": 1000.1, "f": 1100}
	for _, c := range []struct {
		name     string
		restored map[string]float64
		ok       bool
		want     Verdict
	}{
		{"exact", map[string]float64{"a": 900, "b": 985, "c": 990}, true,
			Verdict{Restored: 3, Before: 2, Window: 2, Kept: 1, After: 2}},
		{"a filing saved before T missing", map[string]float64{"a": 900, "c": 990}, false,
			Verdict{Restored: 2, Before: 2, Lost: 1, Window: 2, Kept: 1, After: 2}},
		{"a filing made after T", map[string]float64{"a": 900, "b": 985, "e": 1000.1}, false,
			Verdict{Restored: 3, Before: 2, Window: 2, After: 2, Late: 1}},
		{"a filing the primary lacks", map[string]float64{"a": 900, "b": 985, "z": 950}, false,
			Verdict{Restored: 3, Before: 2, Window: 2, After: 2, Phantom: 1}},
		{"nothing restored", map[string]float64{}, false,
			Verdict{Before: 2, Lost: 2, Window: 2, After: 2}},
	} {
		c.want.Span = 15 * time.Second
		v := Check(c.restored, primary, T, 15*time.Second)
		if v != c.want || v.OK() != c.ok {
			t.Errorf("%s: %+v (ok %v), want %+v (ok %v)", c.name, v, v.OK(), c.want, c.ok)
		}
	}
}

func TestItReadsPsqlOutputAndSaysWhy(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	r := write("restored", "1|900.5\n2|990.25\n")
	p := write("primary", "1|900.5\n2|990.25\n3|1001\n")
	var out strings.Builder
	if err := run([]string{"-restored", r, "-primary", p, "-t", "1000"}, &out); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if !strings.Contains(out.String(), "2 filings: of the 1 filed 15s or more before T, 0 missing; 1 of the 1 in the 15s before T; 0 of the 1 after it") {
		t.Errorf("the counts: %s", out.String())
	}
	if err := run([]string{"-restored", p, "-primary", r, "-t", "1000"}, &out); err == nil {
		t.Error("a restore past T: want an error")
	}
	bad := write("bad", "1,900\n")
	if err := run([]string{"-restored", bad, "-primary", p, "-t", "1000"}, &out); err == nil || !strings.Contains(err.Error(), "bad:1") {
		t.Errorf("a line that is not id|epoch: want an error naming it, got %v", err)
	}
}
