package main

import (
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
	if got := strings.Count(labels, diagram.Label(8)); got != len(diagram.AZs) {
		t.Errorf("api drawn %d times, want once per AZ (%d)", got, len(diagram.AZs))
	}
}
