package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func tree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestPinsDriftIsFound(t *testing.T) {
	dir := tree(t, map[string]string{
		".env":             "# pins\nGO_IMAGE=${GO_IMAGE:-golang:1.26.11-trixie}\nREGISTRY_IMAGE=${REGISTRY_IMAGE:-registry:3.1.1}\nDOCKER_CLI_IMAGE=${DOCKER_CLI_IMAGE:-docker:29.5.3-cli}\nPLAYWRIGHT_IMAGE=${PLAYWRIGHT_IMAGE:-mcr.microsoft.com/playwright:v1.64.1-noble}\n",
		"README.md":        "run golang:1.26.11-trixie, a local registry:3, or registry:3.1\n",
		".gitlab-ci.yml":   "image: docker:29.4.0-cli\nservices:\n  docker:\n  - docker:29.5.3-cli\nDB: postgres:5432\n",
		"Dockerfile":       "ARG GO_IMAGE=golang:1.26.11-trixie\nFROM ${GO_IMAGE}\n",
		"old.md":           "the stand-in for golang:1.26.8-trixie\n",
		"e2e/package.json": `{"devDependencies": {"@playwright/test": "1.63.0"}}`,
	})
	var list []string
	for _, f := range []string{".env", "README.md", ".gitlab-ci.yml", "Dockerfile", "old.md", "e2e/package.json"} {
		list = append(list, f)
	}
	problems, pins, err := check(dir, func(string) ([]string, error) { return list, nil })
	if err != nil {
		t.Fatal(err)
	}
	if pins["GO_IMAGE"] != "golang:1.26.11-trixie" {
		t.Fatalf("pins %v", pins)
	}
	got := strings.Join(problems, "\n")
	for _, want := range []string{
		".gitlab-ci.yml:1 names docker:29.4.0-cli",
		"Dockerfile:1 gives a base image a default",
		"old.md:1 names golang:1.26.8-trixie",
		"@playwright/test 1.63.0",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	if len(problems) != 4 {
		t.Errorf("%d problems, want 4 (README's mentions agree):\n%s", len(problems), got)
	}
}
