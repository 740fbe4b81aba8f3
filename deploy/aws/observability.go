package main

import (
	"encoding/json"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sns"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// NewAlarmTopic is where alarms and RDS / ElastiCache events go.
func NewAlarmTopic(ctx *pulumi.Context, cfg Config) (*sns.Topic, error) {
	t, err := sns.NewTopic(ctx, "alarms", &sns.TopicArgs{Name: pulumi.String(cfg.Name + "-alarms"), Tags: tags(cfg, "alarms")})
	if err != nil {
		return nil, err
	}
	if cfg.AlarmEmail != "" {
		if _, err := sns.NewTopicSubscription(ctx, "alarms-email", &sns.TopicSubscriptionArgs{
			Topic: t.Arn, Protocol: pulumi.String("email"), Endpoint: pulumi.String(cfg.AlarmEmail),
		}); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// Alarm names, asserted by the tests and referenced in docs/architecture.md.
var AlarmNames = []string{"alb-5xx-rate", "api-p99-latency", "api-cpu", "rds-free-storage", "rds-cpu", "valkey-replication-lag-001", "queue-depth"}

// NewObservability adds the alarms and the dashboard.
func NewObservability(ctx *pulumi.Context, cfg Config, topic *sns.Topic, c *Compute, d *Data) error {
	actions := pulumi.Array{topic.Arn}
	alarm := func(name, desc string, args *cloudwatch.MetricAlarmArgs) error {
		args.Name, args.AlarmDescription = pulumi.String(cfg.Name+"-"+name), pulumi.String(desc)
		args.AlarmActions, args.OkActions = actions, actions
		if args.TreatMissingData == nil {
			args.TreatMissingData = pulumi.String("notBreaching")
		}
		args.Tags = tags(cfg, name)
		_, err := cloudwatch.NewMetricAlarm(ctx, name, args)
		return err
	}
	albDim := pulumi.StringMap{"LoadBalancer": c.ALB.ArnSuffix}
	// 5xx rate = target 5xx / requests, per minute, above 1 % in 2 of 3
	// minutes: quick enough to roll a bad api release back (DeploymentAlarms).
	if err := alarm("alb-5xx-rate", "More than 1% of API requests failed with 5xx", &cloudwatch.MetricAlarmArgs{
		ComparisonOperator: pulumi.String("GreaterThanThreshold"), Threshold: pulumi.Float64(1), EvaluationPeriods: pulumi.Int(3),
		DatapointsToAlarm: pulumi.Int(2),
		MetricQueries: cloudwatch.MetricAlarmMetricQueryArray{
			&cloudwatch.MetricAlarmMetricQueryArgs{Id: pulumi.String("rate"), Expression: pulumi.String("100 * errors / MAX([errors, requests])"), Label: pulumi.String("5xx %"), ReturnData: pulumi.Bool(true)},
			&cloudwatch.MetricAlarmMetricQueryArgs{Id: pulumi.String("errors"), Metric: &cloudwatch.MetricAlarmMetricQueryMetricArgs{
				Namespace: pulumi.String("AWS/ApplicationELB"), MetricName: pulumi.String("HTTPCode_Target_5XX_Count"), Dimensions: albDim, Period: pulumi.Int(60), Stat: pulumi.String("Sum")}},
			&cloudwatch.MetricAlarmMetricQueryArgs{Id: pulumi.String("requests"), Metric: &cloudwatch.MetricAlarmMetricQueryMetricArgs{
				Namespace: pulumi.String("AWS/ApplicationELB"), MetricName: pulumi.String("RequestCount"), Dimensions: albDim, Period: pulumi.Int(60), Stat: pulumi.String("Sum")}},
		},
	}); err != nil {
		return err
	}
	simple := func(name, desc, ns, metric, stat, op string, threshold float64, periods int, dims pulumi.StringMap) error {
		args := &cloudwatch.MetricAlarmArgs{
			Namespace: pulumi.String(ns), MetricName: pulumi.String(metric), Dimensions: dims, Period: pulumi.Int(60),
			ComparisonOperator: pulumi.String(op), Threshold: pulumi.Float64(threshold), EvaluationPeriods: pulumi.Int(periods),
		}
		if stat[0] == 'p' {
			args.ExtendedStatistic = pulumi.String(stat)
		} else {
			args.Statistic = pulumi.String(stat)
		}
		return alarm(name, desc, args)
	}
	svcDim := pulumi.StringMap{"ClusterName": c.Cluster.Name, "ServiceName": c.APIService.Name}
	rdsDim := pulumi.StringMap{"DBInstanceIdentifier": d.DB.Identifier}
	for _, a := range []struct {
		name, desc, ns, metric, stat, op string
		threshold                        float64
		periods                          int
		dims                             pulumi.StringMap
	}{
		{"api-p99-latency", "API p99 latency above 1 s", "AWS/ApplicationELB", "TargetResponseTime", "p99", "GreaterThanThreshold", 1, 5, albDim},
		{"api-cpu", "API tasks above 80% CPU (autoscaling at max?)", "AWS/ECS", "CPUUtilization", "Average", "GreaterThanThreshold", 80, 5, svcDim},
		{"rds-free-storage", "PostgreSQL has less than 5 GiB free", "AWS/RDS", "FreeStorageSpace", "Minimum", "LessThanThreshold", 5 << 30, 1, rdsDim},
		{"rds-cpu", "PostgreSQL above 80% CPU", "AWS/RDS", "CPUUtilization", "Average", "GreaterThanThreshold", 80, 5, rdsDim},
		{"queue-depth", "More than 500 requests waiting for a decision (providers down?)", QueueMetricNamespace, QueueMetricName, "Maximum", "GreaterThanThreshold", 500, 5, nil},
	} {
		if err := simple(a.name, a.desc, a.ns, a.metric, a.stat, a.op, a.threshold, a.periods, a.dims); err != nil {
			return err
		}
	}
	// ReplicationLag is published per node (CacheClusterId, CacheNodeId),
	// not per replication group; any member may be a replica after a
	// failover, so each has its alarm (the primary's has no data: fine).
	for _, member := range CacheMemberIDs(cfg) {
		if err := simple("valkey-replication-lag-"+member[len(cfg.Name)+1:], "Valkey replica "+member+" more than 5 s behind", "AWS/ElastiCache",
			"ReplicationLag", "Maximum", "GreaterThanThreshold", 5, 3,
			pulumi.StringMap{"CacheClusterId": pulumi.String(member), "CacheNodeId": pulumi.String("0001")}); err != nil {
			return err
		}
	}
	// Memory near maxmemory, per node (as ElastiCache publishes it), the
	// limits' node too: full, the sessions' cache evicts admins' sessions
	// and the limits' refuses writes (ValkeyMemoryNearFull off AWS).
	for _, member := range append(CacheMemberIDs(cfg), cfg.Name+"-limits-001") {
		if err := simple("valkey-memory-"+member[len(cfg.Name)+1:], "Valkey node "+member+" above 90% of its maxmemory. Runbook: docs/operations.md#valkeymemorynearfull",
			"AWS/ElastiCache", "DatabaseMemoryUsagePercentage", "Maximum", "GreaterThanThreshold", 90, 5,
			pulumi.StringMap{"CacheClusterId": pulumi.String(member), "CacheNodeId": pulumi.String("0001")}); err != nil {
			return err
		}
	}

	if err := NewSLOAlarms(ctx, cfg, topic); err != nil {
		return err
	}

	body := pulumi.All(c.ALB.ArnSuffix, c.Cluster.Name, c.APIService.Name, c.Worker.Name, d.DB.Identifier).ApplyT(func(a []any) (string, error) {
		widget := func(title string, metrics [][]any, stat string) map[string]any {
			return map[string]any{"type": "metric", "width": 12, "height": 6, "properties": map[string]any{
				"title": title, "region": cfg.Region, "stat": stat, "period": 60, "metrics": metrics,
			}}
		}
		b, err := json.Marshal(map[string]any{"widgets": []any{
			widget("API requests and 5xx", [][]any{{"AWS/ApplicationELB", "RequestCount", "LoadBalancer", a[0]}, {".", "HTTPCode_Target_5XX_Count", ".", "."}}, "Sum"),
			widget("API latency p50 / p99", [][]any{{"AWS/ApplicationELB", "TargetResponseTime", "LoadBalancer", a[0], map[string]string{"stat": "p50"}}, {"...", map[string]string{"stat": "p99"}}}, "p99"),
			widget("Tasks CPU", [][]any{{"AWS/ECS", "CPUUtilization", "ClusterName", a[1], "ServiceName", a[2]}, {"...", a[3]}}, "Average"),
			widget("Decision queue depth", [][]any{{QueueMetricNamespace, QueueMetricName}}, "Maximum"),
			widget("PostgreSQL", [][]any{{"AWS/RDS", "CPUUtilization", "DBInstanceIdentifier", a[4]}, {".", "DatabaseConnections", ".", "."}}, "Average"),
			widget("Valkey", valkeyMetrics(cfg), "Maximum"),
		}})
		return string(b), err
	}).(pulumi.StringOutput)
	_, err := cloudwatch.NewDashboard(ctx, "loandesk", &cloudwatch.DashboardArgs{DashboardName: pulumi.String(cfg.Name), DashboardBody: body})
	return err
}

// valkeyMetrics are the cache nodes' CPU and replication lag, per node: the
// level at which ElastiCache publishes them.
func valkeyMetrics(cfg Config) [][]any {
	var m [][]any
	for _, id := range CacheMemberIDs(cfg) {
		m = append(m, []any{"AWS/ElastiCache", "EngineCPUUtilization", "CacheClusterId", id, "CacheNodeId", "0001"},
			[]any{"AWS/ElastiCache", "ReplicationLag", "CacheClusterId", id, "CacheNodeId", "0001"})
	}
	return m
}
