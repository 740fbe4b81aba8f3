// Package diagram draws the AWS architecture with go-diagrams. Its numbered
// Components are the ones docs/architecture.md explains, and a test checks
// them against the resources the Pulumi program declares.
package diagram

// Component is one numbered box of the diagram.
type Component struct {
	N     int
	Label string
	// Types are the Pulumi resource types that make this component real;
	// empty for what AWS does not host (the users, the external services).
	Types []string
}

// Components, numbered in the order a filing meets them (the page's text
// introduces them in that order), then what runs beside the path.
var Components = []Component{
	{1, "Applicants and admins", nil},
	{2, "Route 53", []string{"aws:route53/record:Record"}},
	{3, "CloudFront", []string{"aws:cloudfront/distribution:Distribution", "aws:cloudfront/function:Function", "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy"}},
	{4, "AWS WAF", []string{"aws:wafv2/webAcl:WebAcl"}},
	{5, "ACM certificates", []string{"aws:acm/certificate:Certificate", "aws:acm/certificateValidation:CertificateValidation"}},
	{6, "S3: SPA (private, OAC)", []string{"aws:s3/bucketV2:BucketV2", "aws:cloudfront/originAccessControl:OriginAccessControl", "aws:s3/bucketPolicy:BucketPolicy"}},
	{7, "Internet gateway", []string{"aws:ec2/internetGateway:InternetGateway"}},
	{8, "Application Load Balancer", []string{"aws:lb/loadBalancer:LoadBalancer", "aws:lb/listener:Listener", "aws:lb/targetGroup:TargetGroup"}},
	{9, "ECS Fargate: api", []string{"aws:ecs/service:Service", "aws:ecs/taskDefinition:TaskDefinition", "aws:ecs/cluster:Cluster"}},
	{10, "ElastiCache for Valkey", []string{"aws:elasticache/replicationGroup:ReplicationGroup"}},
	{11, "NAT gateway + Elastic IP", []string{"aws:ec2/natGateway:NatGateway", "aws:ec2/eip:Eip"}},
	{12, "External: scoring, identity", nil},
	{13, "RDS PostgreSQL 17 Multi-AZ", []string{"aws:rds/instance:Instance"}},
	{14, "ECS Fargate: worker", []string{"aws:ecs/service:Service"}},
	{15, "Secrets Manager", []string{"aws:secretsmanager/secret:Secret"}},
	{16, "VPC endpoints", []string{"aws:ec2/vpcEndpoint:VpcEndpoint"}},
	{17, "ECR (scan on push)", []string{"aws:ecr/repository:Repository"}},
	{18, "CloudWatch: logs, alarms, dashboard", []string{"aws:cloudwatch/logGroup:LogGroup", "aws:cloudwatch/metricAlarm:MetricAlarm", "aws:cloudwatch/dashboard:Dashboard", "aws:sns/topic:Topic"}},
	{19, "Application Auto Scaling", []string{"aws:appautoscaling/target:Target", "aws:appautoscaling/policy:Policy"}},
}

// Label returns "(n) label" for component n.
func Label(n int) string {
	for _, c := range Components {
		if c.N == n {
			return "(" + itoa(n) + ") " + c.Label
		}
	}
	panic("no component " + itoa(n))
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return string(rune('0'+n/10)) + string(rune('0'+n%10))
}
