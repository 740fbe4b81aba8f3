// Command covercheck fails when a source file's statement coverage, read
// from a `go test -coverprofile` file, is below a minimum:
//
//	covercheck -profile cover.out -file internal/domain/desk.go -min 80
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "covercheck:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("covercheck", flag.ContinueOnError)
	profile := fs.String("profile", "", "coverage profile from go test -coverprofile")
	file := fs.String("file", "", "source file, as a path suffix (internal/domain/desk.go)")
	minimum := fs.Float64("min", 80, "minimum statement coverage, in percent")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *profile == "" || *file == "" {
		return errors.New("-profile and -file are required")
	}
	f, err := os.Open(*profile)
	if err != nil {
		return err
	}
	defer f.Close()
	// A block may be listed more than once (one line per test binary that
	// covers its package): count each block once, covered if any run did.
	covered := map[string]bool{}
	stmts := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "mode:") {
			continue
		}
		// name.go:line.col,line.col statements count
		fields := strings.Fields(line)
		if len(fields) != 3 || !strings.HasSuffix(strings.SplitN(fields[0], ":", 2)[0], *file) {
			continue
		}
		n, err1 := strconv.Atoi(fields[1])
		c, err2 := strconv.Atoi(fields[2])
		if err1 != nil || err2 != nil {
			return fmt.Errorf("malformed profile line %q", line)
		}
		stmts[fields[0]] = n
		covered[fields[0]] = covered[fields[0]] || c > 0
	}
	if err := sc.Err(); err != nil {
		return err
	}
	total, hit := 0, 0
	for block, n := range stmts {
		total += n
		if covered[block] {
			hit += n
		}
	}
	if total == 0 {
		return fmt.Errorf("%s is not in %s", *file, *profile)
	}
	pct := 100 * float64(hit) / float64(total)
	fmt.Printf("coverage of %s: %.1f%% of %d statements (minimum %.0f%%)\n", *file, pct, total, *minimum)
	if pct < *minimum {
		return fmt.Errorf("%s is covered %.1f%%, below %.0f%%", *file, pct, *minimum)
	}
	return nil
}
