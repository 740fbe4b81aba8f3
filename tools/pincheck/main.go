// Command pincheck keeps one source of truth for every pinned image: .env.
// It fails when a file names a pinned image with another tag (GitLab CI, the
// READMEs, comments), when a Dockerfile gives a base-image argument a default
// of its own (a second source), or when the Playwright image and the
// Playwright package differ.
//
//	go run ./tools/pincheck            (from the repository's root)
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"

	"github.com/loandesk/loandesk/tools/pins"
)

func main() {
	problems, pins, err := check(".", trackedFiles)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pincheck:", err)
		os.Exit(2)
	}
	names := make([]string, 0, len(pins))
	for n := range pins {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Printf("  %-18s %s\n", n, pins[n])
	}
	for _, p := range problems {
		fmt.Println("pincheck:", p)
	}
	if len(problems) > 0 {
		os.Exit(1)
	}
	fmt.Println("pincheck: every pin agrees with .env")
}

func trackedFiles(dir string) ([]string, error) {
	out, err := exec.Command("git", "-C", dir, "ls-files").Output()
	if err != nil {
		return nil, fmt.Errorf("git ls-files: %w", err)
	}
	return strings.Fields(string(out)), nil
}

// agrees: a mention may name the pinned tag, or a dot-bounded prefix of its
// version ("registry:3" for 3.1.1), with the same suffix if it has one.
func agrees(mention, pinned string) bool {
	if mention == pinned {
		return true
	}
	mv, ms, _ := strings.Cut(mention, "-")
	pv, ps, _ := strings.Cut(pinned, "-")
	if ms != "" && ms != ps {
		return false
	}
	return strings.HasPrefix(pv+".", mv+".")
}

func check(dir string, files func(string) ([]string, error)) ([]string, map[string]string, error) {
	pins, err := pins.Read(dir+"/.env", nil)
	if err != nil {
		return nil, nil, err
	}
	// The pins of each repository (docker has two: cli and dind).
	byRepo := map[string][]string{}
	for name, image := range pins {
		repo, tag, ok := strings.Cut(image, ":")
		if !ok {
			return nil, nil, fmt.Errorf(".env: %s=%s has no tag", name, image)
		}
		byRepo[repo] = append(byRepo[repo], tag)
	}
	type pattern struct {
		re     *regexp.Regexp
		repo   string
		pinned []string
	}
	var patterns []pattern
	for repo, tags := range byRepo {
		// A tag that starts like a version: "docker:" alone is a YAML key.
		re := regexp.MustCompile(`(?:^|[\s"'=(\x60])` + regexp.QuoteMeta(repo) + `:(v?[0-9][A-Za-z0-9._-]*|nonroot)`)
		patterns = append(patterns, pattern{re, repo, tags})
	}
	port := regexp.MustCompile(`^[0-9]{3,5}$`) // postgres:5432 is a host and port
	argDefault := regexp.MustCompile(`^ARG\s+[A-Z_]*IMAGE=`)
	var problems []string
	list, err := files(dir)
	if err != nil {
		return nil, nil, err
	}
	for _, path := range list {
		if path == ".env" || strings.HasPrefix(path, "tools/pincheck/") || strings.HasSuffix(path, ".sum") || strings.HasSuffix(path, "package-lock.json") ||
			strings.HasSuffix(path, ".png") || strings.HasSuffix(path, ".svg") {
			continue
		}
		b, err := os.ReadFile(dir + "/" + path)
		if err != nil {
			continue // a file deleted in the work tree
		}
		for i, line := range strings.Split(string(b), "\n") {
			for _, p := range patterns {
				for _, m := range p.re.FindAllStringSubmatch(line, -1) {
					ok := port.MatchString(m[1])
					for _, tag := range p.pinned {
						ok = ok || agrees(m[1], tag)
					}
					if !ok {
						problems = append(problems, fmt.Sprintf("%s:%d names %s:%s; .env pins %s:%s", path, i+1, p.repo, m[1], p.repo,
							strings.Join(p.pinned, " or ")))
					}
				}
			}
			if strings.Contains(path, "Dockerfile") && argDefault.MatchString(strings.TrimSpace(line)) {
				problems = append(problems, fmt.Sprintf("%s:%d gives a base image a default: the pin belongs in .env", path, i+1))
			}
		}
	}
	// The Playwright package must drive the browser build its image ships.
	if b, err := os.ReadFile(dir + "/e2e/package.json"); err == nil {
		var pkg struct {
			DevDependencies map[string]string `json:"devDependencies"`
			Dependencies    map[string]string `json:"dependencies"`
		}
		if err := json.Unmarshal(b, &pkg); err != nil {
			return nil, nil, fmt.Errorf("e2e/package.json: %w", err)
		}
		v := pkg.DevDependencies["@playwright/test"] + pkg.Dependencies["@playwright/test"]
		image := strings.TrimPrefix(strings.SplitN(strings.SplitN(pins["PLAYWRIGHT_IMAGE"], ":", 2)[1], "-", 2)[0], "v")
		if v != "" && v != image {
			problems = append(problems, fmt.Sprintf("e2e/package.json pins @playwright/test %s; .env's PLAYWRIGHT_IMAGE is %s", v, image))
		}
	}
	sort.Strings(problems)
	return problems, pins, nil
}
