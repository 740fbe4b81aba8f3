// Package arch_test holds the one-way rules between LoanDesk's packages as
// tests, so a change that breaks one fails instead of waiting for a reader:
// the domain imports nothing of ours and no driver, queue or transport; only
// internal/postgres knows River.
package arch_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/loandesk/loandesk/"

// imports maps each Go file under root (tests included) to its imports.
func imports(t *testing.T, root string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, im := range f.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			out[filepath.ToSlash(path)] = append(out[filepath.ToSlash(path)], p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// root is the repository's root, from this package's directory.
func root(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(wd, "..", "..")
}

func TestTheDomainImportsNoAdapterDriverOrQueue(t *testing.T) {
	forbidden := []string{module, "github.com/riverqueue/", "github.com/jackc/", "github.com/redis/", "github.com/go-redis/",
		"net/http", "database/sql", "go.opentelemetry.io/"}
	for file, ims := range imports(t, filepath.Join(root(t), "internal", "domain")) {
		if strings.HasSuffix(file, "_test.go") {
			continue // tests may import what they exercise the domain with
		}
		for _, im := range ims {
			for _, f := range forbidden {
				if strings.HasPrefix(im, f) {
					t.Errorf("%s imports %s: the domain imports none of ours, and no driver, queue or transport", file, im)
				}
			}
		}
	}
}

func TestOnlyPostgresKnowsRiver(t *testing.T) {
	r := root(t)
	for file, ims := range imports(t, r) {
		rel, _ := filepath.Rel(r, file)
		if strings.HasPrefix(filepath.ToSlash(rel), "internal/postgres/") || strings.HasPrefix(filepath.ToSlash(rel), "deploy/") {
			continue
		}
		for _, im := range ims {
			if strings.HasPrefix(im, "github.com/riverqueue/") {
				t.Errorf("%s imports %s: the queue is internal/postgres's (queue.go)", rel, im)
			}
		}
	}
}

// A stand-in for a third party is a third party: it checks requests by its
// own contract (api/*.yaml), never by our domain's rules, so a drift between
// our client and the contract shows.
func TestStandInsDoNotUseOurDomain(t *testing.T) {
	r := root(t)
	for _, dir := range []string{"internal/provider", "cmd/scoring", "cmd/identity"} {
		for file, ims := range imports(t, filepath.Join(r, dir)) {
			for _, im := range ims {
				if im == module+"internal/domain" {
					t.Errorf("%s imports internal/domain: a stand-in validates by its own contract", file)
				}
			}
		}
	}
}
