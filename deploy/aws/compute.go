package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/appautoscaling"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecr"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecs"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lb"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/rds"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Compute is the API and the worker on ECS Fargate in the app subnets, the
// ALB in front of the API, the image registry, and the migrate task.
type Compute struct {
	Repo                *ecr.Repository
	Cluster             *ecs.Cluster
	ALB                 *lb.LoadBalancer
	TargetGroup         *lb.TargetGroup
	APIService, Worker  *ecs.Service
	APITask, WorkerTask *ecs.TaskDefinition
	MigrateTask         *ecs.TaskDefinition
	LogGroups           map[string]*cloudwatch.LogGroup
	ExecutionRole       *iam.Role
	APIScaling          *appautoscaling.Target
}

// DeploymentAlarms roll an api release back when they fire during its
// deployment (names in observability.go).
var DeploymentAlarms = []string{"alb-5xx-rate", "api-p99-latency"}

// QueueMetric is the custom metric the worker publishes (through its log
// lines and a metric filter) and the worker service scales on.
const (
	QueueMetricNamespace = "LoanDesk"
	QueueMetricName      = "QueueDepth"
)

func assumeRole(service string) string {
	b, _ := json.Marshal(map[string]any{
		"Version": "2012-10-17",
		"Statement": []map[string]any{{
			"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": map[string]string{"Service": service},
		}},
	})
	return string(b)
}

type kv struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type secretRef struct {
	Name      string `json:"name"`
	ValueFrom string `json:"valueFrom"`
}

func NewCompute(ctx *pulumi.Context, cfg Config, net *Network, data *Data, cert pulumi.StringInput) (*Compute, error) {
	c := &Compute{LogGroups: map[string]*cloudwatch.LogGroup{}}
	var err error
	c.Repo, err = ecr.NewRepository(ctx, "loandesk", &ecr.RepositoryArgs{
		Name: pulumi.String(cfg.Name), ImageTagMutability: pulumi.String("IMMUTABLE"),
		ImageScanningConfiguration: &ecr.RepositoryImageScanningConfigurationArgs{ScanOnPush: pulumi.Bool(true)},
		EncryptionConfigurations:   ecr.RepositoryEncryptionConfigurationArray{&ecr.RepositoryEncryptionConfigurationArgs{EncryptionType: pulumi.String("AES256")}},
		Tags:                       tags(cfg, "ecr"),
	})
	if err != nil {
		return nil, err
	}
	if _, err := ecr.NewLifecyclePolicy(ctx, "loandesk", &ecr.LifecyclePolicyArgs{
		Repository: c.Repo.Name,
		Policy: pulumi.String(`{"rules":[{"rulePriority":1,"description":"keep the last 50 images",` +
			`"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":50},"action":{"type":"expire"}}]}`),
	}); err != nil {
		return nil, err
	}
	c.Cluster, err = ecs.NewCluster(ctx, "cluster", &ecs.ClusterArgs{
		Name:     pulumi.String(cfg.Name),
		Settings: ecs.ClusterSettingArray{&ecs.ClusterSettingArgs{Name: pulumi.String("containerInsights"), Value: pulumi.String("enabled")}},
		Tags:     tags(cfg, "cluster"),
	})
	if err != nil {
		return nil, err
	}
	for _, name := range []string{"api", "worker", "migrate"} {
		lg, err := cloudwatch.NewLogGroup(ctx, name, &cloudwatch.LogGroupArgs{
			Name: pulumi.Sprintf("/%s/%s", cfg.Name, name), RetentionInDays: pulumi.Int(cfg.LogRetentionDays), Tags: tags(cfg, name),
		})
		if err != nil {
			return nil, err
		}
		c.LogGroups[name] = lg
	}
	// Each worker logs {"msg":"queue stats","depth":N} every 5 s, N counted
	// by SQL in River's job table; this turns it into the metric its
	// autoscaling tracks (Average: every worker reports the same depth).
	if _, err := cloudwatch.NewLogMetricFilter(ctx, "queue-depth", &cloudwatch.LogMetricFilterArgs{
		LogGroupName: c.LogGroups["worker"].Name, Pattern: pulumi.String(`{ $.msg = "queue stats" }`),
		MetricTransformation: &cloudwatch.LogMetricFilterMetricTransformationArgs{
			Name: pulumi.String(QueueMetricName), Namespace: pulumi.String(QueueMetricNamespace), Value: pulumi.String("$.depth"), Unit: pulumi.String("Count"),
		},
	}); err != nil {
		return nil, err
	}

	// Execution role: pull images, write logs, read exactly our secrets.
	c.ExecutionRole, err = iam.NewRole(ctx, "execution", &iam.RoleArgs{AssumeRolePolicy: pulumi.String(assumeRole("ecs-tasks.amazonaws.com")), Tags: tags(cfg, "execution")})
	if err != nil {
		return nil, err
	}
	if _, err := iam.NewRolePolicyAttachment(ctx, "execution", &iam.RolePolicyAttachmentArgs{
		Role: c.ExecutionRole.Name, PolicyArn: pulumi.String("arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"),
	}); err != nil {
		return nil, err
	}
	dbSecret := data.DB.MasterUserSecrets.ApplyT(first[rds.InstanceMasterUserSecret]).(rds.InstanceMasterUserSecretOutput).SecretArn().Elem()
	secretsPolicy := pulumi.All(dbSecret, data.CacheAuth.Arn, data.SessionKey.Arn, data.AdminPass.Arn).ApplyT(func(a []any) (string, error) {
		b, err := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []map[string]any{{
			"Effect": "Allow", "Action": []string{"secretsmanager:GetSecretValue"}, "Resource": a,
		}}})
		return string(b), err
	}).(pulumi.StringOutput)
	if _, err := iam.NewRolePolicy(ctx, "execution-secrets", &iam.RolePolicyArgs{Role: c.ExecutionRole.Name, Policy: secretsPolicy}); err != nil {
		return nil, err
	}
	// Task roles: the api and the worker may only connect to the database
	// as AppDBUser (an IAM token per connection); migrate holds nothing.
	dbUser := pulumi.All(data.DB.Arn, data.DB.ResourceId).ApplyT(func(a []any) (string, error) {
		// arn:aws:rds:REGION:ACCOUNT:db:ID → arn:aws:rds-db:REGION:ACCOUNT:dbuser:RESOURCE-ID/USER
		if a[0].(string) == "" {
			return "", nil // a create that a targeted up skipped (older engines): nothing uses it
		}
		f := strings.SplitN(a[0].(string), ":", 6)
		if len(f) != 6 || f[3] == "" || f[4] == "" {
			return "", fmt.Errorf("the database's ARN %q names no region and account", a[0])
		}
		return fmt.Sprintf("arn:aws:rds-db:%s:%s:dbuser:%s/%s", f[3], f[4], a[1], AppDBUser), nil
	}).(pulumi.StringOutput)
	taskRole := func(name string) (*iam.Role, error) {
		role, err := iam.NewRole(ctx, name+"-task", &iam.RoleArgs{AssumeRolePolicy: pulumi.String(assumeRole("ecs-tasks.amazonaws.com")), Tags: tags(cfg, name+"-task")})
		if err != nil || name == "migrate" {
			return role, err
		}
		policy := dbUser.ApplyT(func(arn string) (string, error) {
			b, err := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []map[string]any{{
				"Effect": "Allow", "Action": "rds-db:connect", "Resource": arn,
			}}})
			return string(b), err
		}).(pulumi.StringOutput)
		_, err = iam.NewRolePolicy(ctx, name+"-db-connect", &iam.RolePolicyArgs{Role: role.Name, Policy: policy})
		return role, err
	}

	// One container definition per command, all from the same image.
	container := func(name, cmd, tag string, port int, healthURL string) pulumi.StringOutput {
		return pulumi.All(c.Repo.RepositoryUrl, data.DB.Address, data.Cache.PrimaryEndpointAddress, dbSecret,
			data.CacheAuth.Arn, data.SessionKey.Arn, data.AdminPass.Arn, c.LogGroups[name].Name,
			data.LimitsCache.PrimaryEndpointAddress).ApplyT(func(a []any) (string, error) {
			env := []kv{
				{"APP_ENV", "production"}, {"LOG_LEVEL", "info"}, {"AWS_REGION", cfg.Region},
				{"SCORING_URL", cfg.ScoringURL}, {"IDENTITY_URL", cfg.IdentityURL},
			}
			var secrets []secretRef
			if cmd == "migrate" {
				// The master user, with the password current at the task's start;
				// migrate creates AppDBUser and grants it the tables.
				env = append(env, kv{"DATABASE_URL", fmt.Sprintf("postgres://loandesk@%s:5432/loandesk?sslmode=require", a[1])},
					kv{"APP_DB_ROLE", AppDBUser}, kv{"APP_DB_IAM", "true"})
				secrets = append(secrets, secretRef{"DATABASE_PASSWORD", fmt.Sprintf("%s:password::", a[3])})
			} else {
				env = append(env, kv{"DATABASE_URL", fmt.Sprintf("postgres://%s@%s:5432/loandesk?sslmode=require", AppDBUser, a[1])},
					kv{"DATABASE_AUTH", "iam"})
			}
			// Only the API uses Valkey (sessions, rate limits) and the admin secrets.
			if cmd == "serve" {
				env = append(env, kv{"VALKEY_URL", fmt.Sprintf("rediss://%s:6379/0", a[2])}, kv{"ADMIN_EMAIL", cfg.AdminEmail},
					kv{"LIMITS_VALKEY_URL", fmt.Sprintf("rediss://%s:6379/0", a[8])},
					// CloudFront tells the origin who the viewer is; only the ALB
					// (in the VPC) reaches the api, so the VPC is the proxy trusted.
					kv{"CLIENT_IP_HEADER", "CloudFront-Viewer-Address"}, kv{"TRUSTED_PROXIES", cfg.VpcCidr},
					// The service-level indicators, as EMF lines in its log (slo.go).
					kv{"SLI_EMF_NAMESPACE", SLINamespace(cfg)})
				secrets = append(secrets, secretRef{"VALKEY_PASSWORD", a[4].(string)}, secretRef{"SESSION_KEY", a[5].(string)},
					secretRef{"ADMIN_PASSWORD", a[6].(string)}, secretRef{"LIMITS_VALKEY_PASSWORD", a[4].(string)})
			}
			def := map[string]any{
				"name": name, "image": fmt.Sprintf("%s:%s", a[0], tag), "essential": true, "command": []string{cmd},
				// Non-root, read-only root filesystem: the image is distroless and writes nothing.
				"user": "65532:65532", "readonlyRootFilesystem": true, "privileged": false,
				"environment": env, "stopTimeout": 15,
				"logConfiguration": map[string]any{"logDriver": "awslogs", "options": map[string]string{
					"awslogs-group": a[7].(string), "awslogs-region": cfg.Region, "awslogs-stream-prefix": name,
				}},
				"linuxParameters": map[string]any{"capabilities": map[string]any{"drop": []string{"ALL"}}},
			}
			if len(secrets) > 0 {
				def["secrets"] = secrets
			}
			if port > 0 {
				def["portMappings"] = []map[string]any{{"containerPort": port, "protocol": "tcp"}}
			}
			if healthURL != "" {
				def["healthCheck"] = map[string]any{"command": []string{"CMD", "loandesk", "healthcheck", "-url", healthURL},
					"interval": 10, "timeout": 3, "retries": 3, "startPeriod": 15}
			}
			b, err := json.Marshal([]any{def})
			return string(b), err
		}).(pulumi.StringOutput)
	}
	taskDef := func(name, cmd, tag string, port int, healthURL string) (*ecs.TaskDefinition, error) {
		role, err := taskRole(name)
		if err != nil {
			return nil, err
		}
		return ecs.NewTaskDefinition(ctx, name, &ecs.TaskDefinitionArgs{
			Family: pulumi.Sprintf("%s-%s", cfg.Name, name), RequiresCompatibilities: pulumi.StringArray{pulumi.String("FARGATE")},
			NetworkMode: pulumi.String("awsvpc"), Cpu: pulumi.Sprintf("%d", cfg.TaskCPU), Memory: pulumi.Sprintf("%d", cfg.TaskMemory),
			ExecutionRoleArn: c.ExecutionRole.Arn, TaskRoleArn: role.Arn,
			RuntimePlatform:      &ecs.TaskDefinitionRuntimePlatformArgs{OperatingSystemFamily: pulumi.String("LINUX"), CpuArchitecture: pulumi.String("X86_64")},
			ContainerDefinitions: container(name, cmd, tag, port, healthURL), Tags: tags(cfg, name),
		})
	}
	if c.APITask, err = taskDef("api", "serve", cfg.ImageTag, 8000, "http://127.0.0.1:8000/healthz"); err != nil {
		return nil, err
	}
	if c.WorkerTask, err = taskDef("worker", "worker", cfg.ImageTag, 0, "http://127.0.0.1:8001/healthz"); err != nil {
		return nil, err
	}
	// Run by `make aws-deploy` before the services move to a new image.
	if c.MigrateTask, err = taskDef("migrate", "migrate", cfg.MigrateImageTag, 0, ""); err != nil {
		return nil, err
	}

	c.ALB, err = lb.NewLoadBalancer(ctx, "alb", &lb.LoadBalancerArgs{
		Name: pulumi.String(cfg.Name), LoadBalancerType: pulumi.String("application"), Internal: pulumi.Bool(false),
		Subnets: ids(net.PublicSubnets), SecurityGroups: pulumi.StringArray{net.AlbSG.ID()},
		DropInvalidHeaderFields: pulumi.Bool(true), EnableDeletionProtection: pulumi.Bool(true), Tags: tags(cfg, "alb"),
	})
	if err != nil {
		return nil, err
	}
	c.TargetGroup, err = lb.NewTargetGroup(ctx, "api", &lb.TargetGroupArgs{
		Port: pulumi.Int(8000), Protocol: pulumi.String("HTTP"), TargetType: pulumi.String("ip"), VpcId: net.Vpc.ID(),
		DeregistrationDelay: pulumi.Int(15), // the API drains within 10 s of SIGTERM
		// Liveness, not readiness: during a database failover every task's
		// /readyz fails at once, and the ALB must not replace them all.
		HealthCheck: &lb.TargetGroupHealthCheckArgs{Path: pulumi.String("/healthz"), Matcher: pulumi.String("200"),
			Interval: pulumi.Int(10), HealthyThreshold: pulumi.Int(2), UnhealthyThreshold: pulumi.Int(2), Timeout: pulumi.Int(5)},
		Tags: tags(cfg, "api"),
	})
	if err != nil {
		return nil, err
	}
	// HTTPS only: CloudFront redirects viewers to HTTPS and reaches the ALB
	// over HTTPS (origin protocol https-only), so nothing listens on 80.
	https, err := lb.NewListener(ctx, "https", &lb.ListenerArgs{
		LoadBalancerArn: c.ALB.Arn, Port: pulumi.Int(443), Protocol: pulumi.String("HTTPS"),
		SslPolicy: pulumi.String("ELBSecurityPolicy-TLS13-1-2-2021-06"), CertificateArn: cert,
		// Only requests carrying CloudFront's secret header reach the API.
		DefaultActions: lb.ListenerDefaultActionArray{&lb.ListenerDefaultActionArgs{
			Type: pulumi.String("fixed-response"),
			// A problem body, as the api answers (a request without
			// CloudFront's secret origin header, or for another host).
			FixedResponse: &lb.ListenerDefaultActionFixedResponseArgs{ContentType: pulumi.String("application/json"), StatusCode: pulumi.String("403"),
				MessageBody: pulumi.String(`{"type":"about:blank","title":"Forbidden","status":403,"detail":"only CloudFront may call this load balancer","code":"forbidden"}`)},
		}},
	})
	if err != nil {
		return nil, err
	}
	rule, err := lb.NewListenerRule(ctx, "from-cloudfront", &lb.ListenerRuleArgs{
		ListenerArn: https.Arn, Priority: pulumi.Int(10),
		Conditions: lb.ListenerRuleConditionArray{&lb.ListenerRuleConditionArgs{HttpHeader: &lb.ListenerRuleConditionHttpHeaderArgs{
			HttpHeaderName: pulumi.String("X-Origin-Verify"), Values: pulumi.StringArray{cfg.OriginVerifySecret},
		}}},
		Actions: lb.ListenerRuleActionArray{&lb.ListenerRuleActionArgs{Type: pulumi.String("forward"), TargetGroupArn: c.TargetGroup.Arn}},
	})
	if err != nil {
		return nil, err
	}

	service := func(name string, task *ecs.TaskDefinition, desired int, lbs ecs.ServiceLoadBalancerArray, alarms []string, deps ...pulumi.Resource) (*ecs.Service, error) {
		args := &ecs.ServiceArgs{
			Name: pulumi.String(name), Cluster: c.Cluster.Arn, TaskDefinition: task.Arn, DesiredCount: pulumi.Int(desired),
			LaunchType: pulumi.String("FARGATE"), PlatformVersion: pulumi.String("LATEST"),
			NetworkConfiguration: &ecs.ServiceNetworkConfigurationArgs{
				Subnets: ids(net.AppSubnets), SecurityGroups: pulumi.StringArray{net.AppSG.ID()}, AssignPublicIp: pulumi.Bool(false),
			},
			// A deployment whose tasks do not become healthy rolls back by itself.
			DeploymentCircuitBreaker:        &ecs.ServiceDeploymentCircuitBreakerArgs{Enable: pulumi.Bool(true), Rollback: pulumi.Bool(true)},
			DeploymentMinimumHealthyPercent: pulumi.Int(100), DeploymentMaximumPercent: pulumi.Int(200),
			PropagateTags: pulumi.String("SERVICE"), EnableEcsManagedTags: pulumi.Bool(true),
			LoadBalancers: lbs, Tags: tags(cfg, name),
		}
		if len(lbs) > 0 {
			args.HealthCheckGracePeriodSeconds = pulumi.Int(30)
		}
		if len(alarms) > 0 {
			// A release that answers 5xx or slowly is rolled back on those
			// alarms, not only when its tasks fail their health checks.
			var names pulumi.StringArray
			for _, a := range alarms {
				names = append(names, pulumi.String(cfg.Name+"-"+a))
			}
			args.Alarms = &ecs.ServiceAlarmsArgs{AlarmNames: names, Enable: pulumi.Bool(true), Rollback: pulumi.Bool(true)}
		}
		// Autoscaling owns the desired count after creation.
		return ecs.NewService(ctx, name, args, pulumi.DependsOn(deps), pulumi.IgnoreChanges([]string{"desiredCount"}))
	}
	c.APIService, err = service("api", c.APITask, cfg.APIMinTasks, ecs.ServiceLoadBalancerArray{&ecs.ServiceLoadBalancerArgs{
		TargetGroupArn: c.TargetGroup.Arn, ContainerName: pulumi.String("api"), ContainerPort: pulumi.Int(8000),
	}}, DeploymentAlarms, rule)
	if err != nil {
		return nil, err
	}
	if c.Worker, err = service("worker", c.WorkerTask, cfg.WorkerMinTasks, nil, nil); err != nil {
		return nil, err
	}

	// Variable load: the API scales on CPU and on requests per task, the
	// worker on the depth of the decision queue.
	scaling := func(name string, svc *ecs.Service, min, max int) (*appautoscaling.Target, error) {
		return appautoscaling.NewTarget(ctx, name, &appautoscaling.TargetArgs{
			ServiceNamespace: pulumi.String("ecs"), ScalableDimension: pulumi.String("ecs:service:DesiredCount"),
			ResourceId:  pulumi.Sprintf("service/%s/%s", c.Cluster.Name, svc.Name),
			MinCapacity: pulumi.Int(min), MaxCapacity: pulumi.Int(max),
		})
	}
	policy := func(name string, t *appautoscaling.Target, spec *appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs) error {
		spec.ScaleInCooldown, spec.ScaleOutCooldown = pulumi.Int(120), pulumi.Int(30)
		_, err := appautoscaling.NewPolicy(ctx, name, &appautoscaling.PolicyArgs{
			PolicyType: pulumi.String("TargetTrackingScaling"), ResourceId: t.ResourceId,
			ScalableDimension: t.ScalableDimension, ServiceNamespace: t.ServiceNamespace,
			TargetTrackingScalingPolicyConfiguration: spec,
		})
		return err
	}
	if c.APIScaling, err = scaling("api", c.APIService, cfg.APIMinTasks, cfg.APIMaxTasks); err != nil {
		return nil, err
	}
	if err := policy("api-cpu", c.APIScaling, &appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs{
		TargetValue: pulumi.Float64(60),
		PredefinedMetricSpecification: &appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs{
			PredefinedMetricType: pulumi.String("ECSServiceAverageCPUUtilization"),
		},
	}); err != nil {
		return nil, err
	}
	if err := policy("api-requests", c.APIScaling, &appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs{
		TargetValue: pulumi.Float64(500), // requests per task per minute
		PredefinedMetricSpecification: &appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs{
			PredefinedMetricType: pulumi.String("ALBRequestCountPerTarget"),
			ResourceLabel:        pulumi.Sprintf("%s/%s", c.ALB.ArnSuffix, c.TargetGroup.ArnSuffix),
		},
	}); err != nil {
		return nil, err
	}
	workerScaling, err := scaling("worker", c.Worker, cfg.WorkerMinTasks, cfg.WorkerMaxTasks)
	if err != nil {
		return nil, err
	}
	// Target: 50 undecided requests per running worker (depth ÷ tasks), so
	// the count grows with the backlog instead of tracking its total.
	type (
		metricArgs = appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecificationMetricArgs
		statArgs   = appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecificationMetricMetricStatArgs
		metricDef  = appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecificationMetricMetricStatMetricArgs
		dimArgs    = appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecificationMetricMetricStatMetricDimensionArgs
		dimArray   = appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecificationMetricMetricStatMetricDimensionArray
	)
	if err := policy("worker-queue", workerScaling, &appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs{
		TargetValue: pulumi.Float64(50),
		CustomizedMetricSpecification: &appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecificationArgs{
			Metrics: appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecificationMetricArray{
				&metricArgs{Id: pulumi.String("depth"), ReturnData: pulumi.Bool(false), MetricStat: &statArgs{Stat: pulumi.String("Average"),
					Metric: &metricDef{Namespace: pulumi.String(QueueMetricNamespace), MetricName: pulumi.String(QueueMetricName)}}},
				&metricArgs{Id: pulumi.String("workers"), ReturnData: pulumi.Bool(false), MetricStat: &statArgs{Stat: pulumi.String("Average"),
					Metric: &metricDef{Namespace: pulumi.String("ECS/ContainerInsights"), MetricName: pulumi.String("RunningTaskCount"),
						Dimensions: dimArray{&dimArgs{Name: pulumi.String("ClusterName"), Value: c.Cluster.Name},
							&dimArgs{Name: pulumi.String("ServiceName"), Value: c.Worker.Name}}}}},
				&metricArgs{Id: pulumi.String("perWorker"), Expression: pulumi.String("depth / workers"), Label: pulumi.String("undecided requests per worker"),
					ReturnData: pulumi.Bool(true)},
			},
		},
	}); err != nil {
		return nil, err
	}
	return c, nil
}

// first is an array output's first element, or its zero value when the
// array is empty (Index panics): a create that a targeted up skipped comes
// back empty on engines before v3.256.0, and deploy.sh's first up targets
// the registry alone.
func first[T any](all []T) T {
	var zero T
	if len(all) == 0 {
		return zero
	}
	return all[0]
}
