package main

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/loandesk/loandesk/deploy/aws/diagram"
)

// Every numbered component of the diagram exists as resources in the
// program, and every major resource the program creates is drawn.
func TestDiagramAndProgramAgree(t *testing.T) {
	inv := mustDeploy(t)
	declared := map[string]int{}
	for _, r := range inv.all {
		declared[r.Type]++
	}
	drawn := map[string]bool{}
	for _, c := range diagram.Components {
		for _, typ := range c.Types {
			drawn[typ] = true
			if declared[typ] == 0 {
				t.Errorf("diagram component (%d) %s: the program declares no %s", c.N, c.Label, typ)
			}
		}
	}
	major := []string{
		"aws:route53/record:Record", "aws:acm/certificate:Certificate", "aws:wafv2/webAcl:WebAcl",
		"aws:cloudfront/distribution:Distribution", "aws:s3/bucketV2:BucketV2", "aws:lb/loadBalancer:LoadBalancer",
		"aws:ec2/natGateway:NatGateway", "aws:ec2/internetGateway:InternetGateway", "aws:ecs/service:Service",
		"aws:rds/instance:Instance", "aws:elasticache/replicationGroup:ReplicationGroup", "aws:ecr/repository:Repository",
		"aws:secretsmanager/secret:Secret", "aws:ec2/vpcEndpoint:VpcEndpoint", "aws:cloudwatch/metricAlarm:MetricAlarm",
		"aws:appautoscaling/policy:Policy",
	}
	for _, typ := range major {
		if declared[typ] == 0 {
			t.Errorf("the program declares no %s", typ)
		}
		if !drawn[typ] {
			t.Errorf("%s is created but not drawn", typ)
		}
	}
	// The diagram really draws each component, labelled with its number.
	d, err := diagram.Build("unused")
	if err != nil {
		t.Fatal(err)
	}
	labels := ""
	for _, n := range d.Nodes() {
		labels += n.Options.Label + "\n"
	}
	for _, c := range diagram.Components {
		if !strings.Contains(labels, diagram.Label(c.N)) {
			t.Errorf("component (%d) %s is not drawn", c.N, c.Label)
		}
	}
	if got := strings.Count(labels, diagram.Label(9)); got != len(diagram.AZs) {
		t.Errorf("api drawn %d times, want once per AZ (%d)", got, len(diagram.AZs))
	}
}

// prose counts the words of a Markdown page outside headings, tables and
// images: what a reader reads as the page's text.
func prose(t *testing.T, path string) (words int, components map[string]bool) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	components = map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		l := strings.TrimSpace(line)
		if l == "" || strings.HasPrefix(l, "#") || strings.HasPrefix(l, "|") || strings.HasPrefix(l, "![") {
			continue
		}
		words += len(strings.Fields(l))
		for _, m := range componentRef.FindAllStringSubmatch(l, -1) {
			components[m[1]] = true
		}
	}
	return words, components
}

var componentRef = regexp.MustCompile(`\((\d{1,2})\)`)

// The challenge asks for ½–1 page: the page is the diagram and at most 550
// words; the tables live in the appendix. Both languages say the same.
func TestPart1FitsItsPageInBothLanguages(t *testing.T) {
	en, enRefs := prose(t, "../../docs/architecture.md")
	es, esRefs := prose(t, "../../docs/architecture.es.md")
	for name, n := range map[string]int{"architecture.md": en, "architecture.es.md": es} {
		if n > 550 {
			t.Errorf("docs/%s has %d words of prose, over the page's 550", name, n)
		}
	}
	if fmt.Sprint(enRefs) != fmt.Sprint(esRefs) {
		t.Errorf("the pages name different components: en %v, es %v", enRefs, esRefs)
	}
	// The appendices hold the same tables: components, costs, GCP mapping.
	rows := func(path string) (tables []int, totals []string) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, line := range append(strings.Split(string(b), "\n"), "") {
			if strings.HasPrefix(line, "|") {
				n++
				if strings.Contains(line, "**total**") {
					totals = regexp.MustCompile(`\d+`).FindAllString(line, -1)
				}
				continue
			}
			if n > 0 {
				tables, n = append(tables, n), 0
			}
		}
		return tables, totals
	}
	enTables, enTotals := rows("../../docs/architecture-appendix.md")
	esTables, esTotals := rows("../../docs/architecture-appendix.es.md")
	if fmt.Sprint(enTables) != fmt.Sprint(esTables) || fmt.Sprint(enTotals) != fmt.Sprint(esTotals) || len(enTotals) != 2 {
		t.Errorf("appendices differ: tables %v vs %v rows, totals %v vs %v", enTables, esTables, enTotals, esTotals)
	}
	if len(enTables) != 3 || enTables[0] != len(diagram.Components)+2 {
		t.Errorf("appendix tables %v: want components (%d rows + header), costs and GCP", enTables, len(diagram.Components))
	}
}

// The diagram numbers components in the order a request meets them, and
// each page of prose introduces them in that same order, so a reader
// follows the numbers on the drawing as the text goes; the appendices list
// them in that order too.
func TestComponentsAreIntroducedInTheirOrder(t *testing.T) {
	for _, page := range []string{"architecture.md", "architecture.es.md"} {
		b, err := os.ReadFile("../../docs/" + page)
		if err != nil {
			t.Fatal(err)
		}
		var first []string
		seen := map[string]bool{}
		for _, m := range componentRef.FindAllStringSubmatch(string(b), -1) {
			if !seen[m[1]] {
				seen[m[1]] = true
				first = append(first, m[1])
			}
		}
		var want []string
		for _, c := range diagram.Components {
			want = append(want, fmt.Sprint(c.N))
		}
		if fmt.Sprint(first) != fmt.Sprint(want) {
			t.Errorf("docs/%s introduces components in the order %v, want %v", page, first, want)
		}
	}
	for _, page := range []string{"architecture-appendix.md", "architecture-appendix.es.md"} {
		b, err := os.ReadFile("../../docs/" + page)
		if err != nil {
			t.Fatal(err)
		}
		var numbers []string
		for _, m := range regexp.MustCompile(`(?m)^\| (\d+) \|`).FindAllStringSubmatch(string(b), -1) {
			numbers = append(numbers, m[1])
		}
		var want []string
		for _, c := range diagram.Components {
			want = append(want, fmt.Sprint(c.N))
		}
		if fmt.Sprint(numbers) != fmt.Sprint(want) {
			t.Errorf("docs/%s numbers its components %v, want %v", page, numbers, want)
		}
	}
}
