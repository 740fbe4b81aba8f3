// Command pitrcheck is make test-swarm's verdict on a point-in-time restore
// (phase g): it reads the filings of the restored database and of the live
// primary, each "id|created_at in epoch seconds" per line (psql -At), and the
// target T (epoch seconds). A filing is committed within -window (15 s: the
// decision's 3 s, up to 5 s for a moving primary, the 5 s save) of its
// created_at, and never before it, so:
//
//   - every filing created -window or more before T must be in the restore;
//   - none created after T may be;
//   - the restore holds no filing the primary does not;
//   - in between, either.
//
// It prints one line of counts and exits 1 when a rule is broken.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "pitrcheck:", err)
		os.Exit(1)
	}
}

// Verdict counts what the restore holds against the primary.
type Verdict struct {
	Span                 time.Duration // the window
	Restored             int           // filings in the restore
	Before, Lost         int           // created by T - window, and of those missing
	Window, Kept         int           // created in the window before T, and of those restored
	After, Late, Phantom int           // created after T on the primary; restored but after T; restored but unknown
}

func (v Verdict) String() string {
	return fmt.Sprintf("%d filings: of the %d filed %s or more before T, %d missing; %d of the %d in the %s before T; %d of the %d after it; %d unknown to the primary",
		v.Restored, v.Before, v.Span, v.Lost, v.Kept, v.Window, v.Span, v.Late, v.After, v.Phantom)
}

// OK is the verdict's rules.
func (v Verdict) OK() bool { return v.Restored > 0 && v.Lost == 0 && v.Late == 0 && v.Phantom == 0 }

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("pitrcheck", flag.ContinueOnError)
	restoredPath := fs.String("restored", "", "the restored database's filings")
	primaryPath := fs.String("primary", "", "the primary's filings")
	target := fs.Float64("t", 0, "T, the restore's target, in epoch seconds")
	window := fs.Duration("window", 15*time.Second, "how long after its created_at a filing may commit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *restoredPath == "" || *primaryPath == "" || *target <= 0 {
		return fmt.Errorf("-restored, -primary and -t are required")
	}
	restored, err := read(*restoredPath)
	if err != nil {
		return err
	}
	primary, err := read(*primaryPath)
	if err != nil {
		return err
	}
	v := Check(restored, primary, *target, *window)
	fmt.Fprintln(out, v)
	if !v.OK() {
		return fmt.Errorf("the restore broke a rule: %s", v)
	}
	return nil
}

// Check compares the restore's filings with the primary's (id → created_at).
func Check(restored, primary map[string]float64, t float64, span time.Duration) Verdict {
	v := Verdict{Span: span, Restored: len(restored)}
	window := span.Seconds()
	for id, at := range restored {
		if at > t {
			v.Late++
		}
		if _, ok := primary[id]; !ok {
			v.Phantom++
		}
	}
	for id, at := range primary {
		_, in := restored[id]
		switch {
		case at <= t-window:
			v.Before++
			if !in {
				v.Lost++
			}
		case at <= t:
			v.Window++
			if in {
				v.Kept++
			}
		default:
			v.After++
		}
	}
	return v
}

func read(path string) (map[string]float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows := map[string]float64{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		id, at, ok := strings.Cut(sc.Text(), "|")
		epoch, err := strconv.ParseFloat(at, 64)
		if !ok || err != nil {
			return nil, fmt.Errorf("%s:%d: want id|epoch, got %q", path, n, sc.Text())
		}
		if _, twice := rows[id]; twice {
			return nil, fmt.Errorf("%s:%d: id %s twice", path, n, id)
		}
		rows[id] = epoch
	}
	return rows, sc.Err()
}
