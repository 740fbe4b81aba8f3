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

// Components, in the order of the request path.
var Components = []Component{
	{1, "Route 53", []string{"aws:route53/record:Record"}},
	{2, "ACM certificates", []string{"aws:acm/certificate:Certificate", "aws:acm/certificateValidation:CertificateValidation"}},
	{3, "AWS WAF", []string{"aws:wafv2/webAcl:WebAcl"}},
	{4, "CloudFront", []string{"aws:cloudfront/distribution:Distribution", "aws:cloudfront/function:Function", "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy"}},
	{5, "S3: SPA (private, OAC)", []string{"aws:s3/bucketV2:BucketV2", "aws:cloudfront/originAccessControl:OriginAccessControl", "aws:s3/bucketPolicy:BucketPolicy"}},
	{6, "Application Load Balancer", []string{"aws:lb/loadBalancer:LoadBalancer", "aws:lb/listener:Listener", "aws:lb/targetGroup:TargetGroup"}},
	{7, "NAT gateway + Elastic IP", []string{"aws:ec2/natGateway:NatGateway", "aws:ec2/eip:Eip"}},
	{8, "ECS Fargate: api", []string{"aws:ecs/service:Service", "aws:ecs/taskDefinition:TaskDefinition", "aws:ecs/cluster:Cluster"}},
	{9, "ECS Fargate: worker", []string{"aws:ecs/service:Service"}},
	{10, "RDS PostgreSQL 17 Multi-AZ", []string{"aws:rds/instance:Instance"}},
	{11, "ElastiCache for Valkey", []string{"aws:elasticache/replicationGroup:ReplicationGroup"}},
	{12, "ECR (scan on push)", []string{"aws:ecr/repository:Repository"}},
	{13, "Secrets Manager", []string{"aws:secretsmanager/secret:Secret"}},
	{14, "VPC endpoints", []string{"aws:ec2/vpcEndpoint:VpcEndpoint"}},
	{15, "CloudWatch: logs, alarms, dashboard", []string{"aws:cloudwatch/logGroup:LogGroup", "aws:cloudwatch/metricAlarm:MetricAlarm", "aws:cloudwatch/dashboard:Dashboard", "aws:sns/topic:Topic"}},
	{16, "Application Auto Scaling", []string{"aws:appautoscaling/target:Target", "aws:appautoscaling/policy:Policy"}},
	{17, "External: scoring, identity", nil},
	{18, "Applicants and admins", nil},
	{19, "Internet gateway", []string{"aws:ec2/internetGateway:InternetGateway"}},
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
