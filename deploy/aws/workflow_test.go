package main

import (
	"os"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// GitHub sends `sub = repo:O/R:environment:NAME` for a job that names an
// environment, and `repo:O/R:pull_request` for a pull request's: the roles
// docs/aws.md tells the operator to trust must be the ones the jobs assume,
// and a pull request's job (its branch's program) must never assume the
// deploy role.
func TestEachJobAssumesTheRoleItsSubjectIsTrustedBy(t *testing.T) {
	b, err := os.ReadFile("../../.github/workflows/aws.yml")
	if err != nil {
		t.Fatal(err)
	}
	var wf struct {
		Jobs map[string]struct {
			If          string `yaml:"if"`
			Environment string `yaml:"environment"`
			Steps       []struct {
				With map[string]string `yaml:"with"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal(b, &wf); err != nil {
		t.Fatal(err)
	}
	docs, err := os.ReadFile("../../docs/aws.md")
	if err != nil {
		t.Fatal(err)
	}
	trusted := map[string]string{ // role variable → the sub its trust policy allows
		"AWS_ROLE_ARN":         ":environment:production",
		"AWS_PREVIEW_ROLE_ARN": ":pull_request",
	}
	for role, sub := range trusted {
		if !strings.Contains(string(docs), "(`"+role+"`): `repo:<owner>/<repo>"+sub+"`") {
			t.Errorf("docs/aws.md does not tell the operator that %s trusts repo:<owner>/<repo>%s", role, sub)
		}
	}
	assumed := 0
	for name, job := range wf.Jobs {
		for _, s := range job.Steps {
			role, ok := s.With["role-to-assume"]
			if !ok {
				continue
			}
			assumed++
			var want string
			switch {
			case strings.Contains(job.If, "pull_request"):
				want = "${{ vars.AWS_PREVIEW_ROLE_ARN }}"
			case job.Environment == "production":
				want = "${{ vars.AWS_ROLE_ARN }}"
			default:
				t.Errorf("job %s assumes %s with neither an environment nor a pull request's subject", name, role)
				continue
			}
			if role != want {
				t.Errorf("job %s assumes %s, want %s", name, role, want)
			}
		}
	}
	if assumed != 2 {
		t.Errorf("%d jobs assume a role, want the preview and the deploy", assumed)
	}
}
