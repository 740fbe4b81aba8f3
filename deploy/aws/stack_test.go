package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
)

func mustDeploy(t *testing.T) *inventory {
	t.Helper()
	inv, err := deploy(t, nil)
	if err != nil {
		t.Fatalf("program failed against the mocks: %v", err)
	}
	return inv
}

func TestThreeAZsAndThreeSubnetTiers(t *testing.T) {
	inv := mustDeploy(t)
	tiers := map[string]map[string]bool{}
	for _, s := range inv.ofType("aws:ec2/subnet:Subnet") {
		tier := s.str("tags.tier")
		if tiers[tier] == nil {
			tiers[tier] = map[string]bool{}
		}
		tiers[tier][s.str("availabilityZone")] = true
		if s.get("mapPublicIpOnLaunch") != false {
			t.Errorf("subnet %s gives public IPs on launch", s.Name)
		}
	}
	for _, tier := range []string{"public", "app", "data"} {
		if len(tiers[tier]) != 3 {
			t.Errorf("tier %s spans %d AZs, want 3", tier, len(tiers[tier]))
		}
	}
	if len(tiers) != 3 {
		t.Errorf("tiers %v, want public/app/data", tiers)
	}
	// The data tier has no route out; app subnets go out through their own AZ's NAT.
	data := inv.one("aws:ec2/routeTable:RouteTable", "data")
	if routes, _ := data.get("routes").([]any); len(routes) != 0 {
		t.Errorf("data route table has routes %v", routes)
	}
	for i := range 3 {
		rt := inv.one("aws:ec2/routeTable:RouteTable", "app-"+itoa(i))
		if rt.str("routes.0.natGatewayId") != "nat-"+itoa(i)+"_id" {
			t.Errorf("app route table %d routes via %q, want its own AZ's NAT", i, rt.str("routes.0.natGatewayId"))
		}
	}
}

func itoa(i int) string { return string(rune('0' + i)) }

func TestOneNATGatewayPerAZWithFixedIP(t *testing.T) {
	inv := mustDeploy(t)
	nats := inv.ofType("aws:ec2/natGateway:NatGateway")
	if len(nats) != 3 {
		t.Fatalf("%d NAT gateways, want 3", len(nats))
	}
	subnets := map[string]bool{}
	for _, n := range nats {
		subnets[n.str("subnetId")] = true
		if !strings.HasPrefix(n.str("allocationId"), "nat-") {
			t.Errorf("NAT %s has no Elastic IP", n.Name)
		}
	}
	for i := range 3 {
		if !subnets["public-"+itoa(i)+"_id"] {
			t.Errorf("no NAT in public subnet %d", i)
		}
	}
}

func TestPostgresIsMultiAZEncryptedPrivateAndProtected(t *testing.T) {
	db := mustDeploy(t).one("aws:rds/instance:Instance", "postgres")
	for path, want := range map[string]any{
		"multiAz": true, "storageEncrypted": true, "publiclyAccessible": false, "deletionProtection": true,
		"engine": "postgres", "engineVersion": "17", "manageMasterUserPassword": true, "skipFinalSnapshot": false,
	} {
		if got := db.get(path); got != want {
			t.Errorf("rds %s = %v, want %v", path, got, want)
		}
	}
	if days, _ := db.get("backupRetentionPeriod").(float64); days < 7 {
		t.Errorf("backup retention %v days, want ≥ 7", days)
	}
	if sgs, _ := db.get("vpcSecurityGroupIds").([]any); len(sgs) != 1 || sgs[0] != "data_id" {
		t.Errorf("rds security groups %v, want only the data group", sgs)
	}
}

func TestValkeyFailsOverAcrossAZsEncrypted(t *testing.T) {
	rg := mustDeploy(t).one("aws:elasticache/replicationGroup:ReplicationGroup", "valkey")
	for path, want := range map[string]any{
		"engine": "valkey", "automaticFailoverEnabled": true, "multiAzEnabled": true,
		"atRestEncryptionEnabled": true, "transitEncryptionEnabled": true,
	} {
		if got := rg.get(path); got != want {
			t.Errorf("valkey %s = %v, want %v", path, got, want)
		}
	}
	if n, _ := rg.get("numCacheClusters").(float64); n < 2 {
		t.Errorf("%v cache nodes, want a primary and ≥ 1 replica", n)
	}
	if rg.str("authToken") == "" {
		t.Error("no AUTH token")
	}
}

func TestDataSecurityGroupAdmitsOnlyTheApp(t *testing.T) {
	inv := mustDeploy(t)
	rules := 0
	for _, r := range inv.ofType("aws:ec2/securityGroupRule:SecurityGroupRule") {
		if r.str("securityGroupId") != "data_id" || r.str("type") != "ingress" {
			continue
		}
		rules++
		if r.str("sourceSecurityGroupId") != "app_id" || r.get("cidrBlocks") != nil {
			t.Errorf("data rule %s admits %v / %v, want only the app group", r.Name, r.get("sourceSecurityGroupId"), r.get("cidrBlocks"))
		}
	}
	for _, sg := range inv.ofType("aws:ec2/securityGroup:SecurityGroup") {
		if sg.Name == "data" && sg.get("ingress") != nil {
			t.Errorf("data group has inline ingress %v", sg.get("ingress"))
		}
	}
	if rules != 2 {
		t.Errorf("%d ingress rules on the data group, want 2 (PostgreSQL, Valkey)", rules)
	}
	// And the chain continues: app admits only the ALB; the ALB only CloudFront.
	for _, r := range inv.ofType("aws:ec2/securityGroupRule:SecurityGroupRule") {
		switch r.str("securityGroupId") {
		case "app_id":
			if r.str("sourceSecurityGroupId") != "alb_id" {
				t.Errorf("app rule %s admits %v", r.Name, r.get("sourceSecurityGroupId"))
			}
		case "alb_id":
			if p, _ := r.get("prefixListIds").([]any); len(p) != 1 || p[0] != "pl-cloudfront" || r.get("cidrBlocks") != nil {
				t.Errorf("alb rule %s admits %v / %v, want only CloudFront's prefix list", r.Name, r.get("prefixListIds"), r.get("cidrBlocks"))
			}
		}
	}
}

func TestAPIScalesBetweenMinAndMaxOnCPUAndRequests(t *testing.T) {
	inv := mustDeploy(t)
	api := inv.one("aws:ecs/service:Service", "api")
	if n, _ := api.get("desiredCount").(float64); n < 2 {
		t.Errorf("api desired %v, want ≥ 2", n)
	}
	if subnets, _ := api.get("networkConfiguration.subnets").([]any); len(subnets) != 3 {
		t.Errorf("api runs in %d subnets, want the 3 app subnets (one per AZ)", len(subnets))
	}
	if api.get("networkConfiguration.assignPublicIp") != false {
		t.Error("api tasks get public IPs")
	}
	target := inv.one("aws:appautoscaling/target:Target", "api")
	min, _ := target.get("minCapacity").(float64)
	max, _ := target.get("maxCapacity").(float64)
	if min < 2 || max < 10 {
		t.Errorf("api autoscaling %v..%v, want min ≥ 2, max ≥ 10", min, max)
	}
	metrics := map[string]bool{}
	for _, p := range inv.ofType("aws:appautoscaling/policy:Policy") {
		if !strings.HasPrefix(p.Name, "api-") {
			continue
		}
		if p.str("policyType") != "TargetTrackingScaling" {
			t.Errorf("policy %s is %s", p.Name, p.str("policyType"))
		}
		metrics[p.str("targetTrackingScalingPolicyConfiguration.predefinedMetricSpecification.predefinedMetricType")] = true
	}
	if !metrics["ECSServiceAverageCPUUtilization"] || !metrics["ALBRequestCountPerTarget"] {
		t.Errorf("api target tracking on %v, want CPU and ALB requests per target", metrics)
	}
	// The worker scales on the queue depth per running worker.
	worker := inv.one("aws:appautoscaling/policy:Policy", "worker-queue")
	spec := "targetTrackingScalingPolicyConfiguration.customizedMetricSpecification.metrics."
	if worker.str(spec+"0.metricStat.metric.metricName") != QueueMetricName ||
		worker.str(spec+"1.metricStat.metric.metricName") != "RunningTaskCount" ||
		worker.str(spec+"1.metricStat.metric.dimensions.1.value") != "worker" ||
		worker.str(spec+"2.expression") != "depth / workers" || worker.get(spec+"2.returnData") != true {
		t.Errorf("worker scaling metrics %v, want the queue depth per running worker", worker.get(spec[:len(spec)-1]))
	}
	filter := inv.one("aws:cloudwatch/logMetricFilter:LogMetricFilter", "queue-depth")
	if filter.str("metricTransformation.name") != QueueMetricName || filter.str("metricTransformation.value") != "$.depth" {
		t.Errorf("queue metric filter %v", filter.get("metricTransformation"))
	}
}

func TestDeploymentsRollBackOnFailure(t *testing.T) {
	for _, svc := range mustDeploy(t).ofType("aws:ecs/service:Service") {
		if svc.get("deploymentCircuitBreaker.enable") != true || svc.get("deploymentCircuitBreaker.rollback") != true {
			t.Errorf("service %s: circuit breaker %v, want enabled with rollback", svc.Name, svc.get("deploymentCircuitBreaker"))
		}
		if n, _ := svc.get("deploymentMinimumHealthyPercent").(float64); n < 100 {
			t.Errorf("service %s lets capacity drop to %v%% during deploys", svc.Name, n)
		}
	}
}

func TestALBServesOnlyHTTPSBehindCloudFront(t *testing.T) {
	inv := mustDeploy(t)
	https := inv.one("aws:lb/listener:Listener", "https")
	if https.get("port") != float64(443) || https.str("protocol") != "HTTPS" || !strings.Contains(https.str("certificateArn"), "acm/certificate-Certificate/origin-cert") {
		t.Errorf("https listener %v %v %v", https.get("port"), https.get("protocol"), https.get("certificateArn"))
	}
	if !strings.Contains(https.str("sslPolicy"), "TLS13") {
		t.Errorf("ssl policy %q", https.str("sslPolicy"))
	}
	for _, l := range inv.ofType("aws:lb/listener:Listener") {
		if l.get("port") != float64(443) {
			t.Errorf("listener %s on port %v: nothing but CloudFront over HTTPS reaches the ALB", l.Name, l.get("port"))
		}
	}
	// Viewers are sent to HTTPS by CloudFront, which speaks HTTPS to the ALB.
	dist := inv.one("aws:cloudfront/distribution:Distribution", "edge")
	for _, o := range dist.get("origins").([]any) {
		o := o.(map[string]any)
		if o["originId"] == "api" {
			if p := o["customOriginConfig"].(map[string]any)["originProtocolPolicy"]; p != "https-only" {
				t.Errorf("CloudFront reaches the ALB with %v, want https-only", p)
			}
		}
	}
	// Only CloudFront (holding the secret header) reaches the API.
	if https.str("defaultActions.0.type") != "fixed-response" {
		t.Error("https listener forwards requests without the origin header")
	}
	rule := inv.one("aws:lb/listenerRule:ListenerRule", "from-cloudfront")
	if rule.str("conditions.0.httpHeader.httpHeaderName") != "X-Origin-Verify" {
		t.Errorf("listener rule %v", rule.get("conditions"))
	}
	cert := inv.one("aws:acm/certificate:Certificate", "origin-cert")
	if cert.str("validationMethod") != "DNS" {
		t.Error("origin certificate not DNS-validated")
	}
}

func TestSPABucketIsPrivateAndReadOnlyByCloudFront(t *testing.T) {
	inv := mustDeploy(t)
	pab := inv.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "spa")
	for _, k := range []string{"blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"} {
		if pab.get(k) != true {
			t.Errorf("public access block %s = %v", k, pab.get(k))
		}
	}
	var policy struct {
		Statement []struct {
			Effect    string
			Principal map[string]string
			Action    string
			Condition map[string]map[string]string
		}
	}
	if err := json.Unmarshal([]byte(inv.one("aws:s3/bucketPolicy:BucketPolicy", "spa").str("policy")), &policy); err != nil {
		t.Fatal(err)
	}
	if len(policy.Statement) != 1 {
		t.Fatalf("bucket policy has %d statements, want 1", len(policy.Statement))
	}
	st := policy.Statement[0]
	if st.Effect != "Allow" || st.Principal["Service"] != "cloudfront.amazonaws.com" || st.Action != "s3:GetObject" ||
		!strings.Contains(st.Condition["StringEquals"]["AWS:SourceArn"], "cloudfront") {
		t.Errorf("bucket policy %+v, want only this distribution (SourceArn) to read", st)
	}
	dist := inv.one("aws:cloudfront/distribution:Distribution", "edge")
	var s3origin map[string]any
	for _, o := range dist.get("origins").([]any) {
		if o.(map[string]any)["originId"] == "spa" {
			s3origin = o.(map[string]any)
		}
	}
	if s3origin == nil || s3origin["originAccessControlId"] != "spa_id" || s3origin["s3OriginConfig"] != nil {
		t.Errorf("S3 origin %v, want Origin Access Control (no OAI, no website endpoint)", s3origin)
	}
	oac := inv.one("aws:cloudfront/originAccessControl:OriginAccessControl", "spa")
	if oac.str("signingBehavior") != "always" || oac.str("originAccessControlOriginType") != "s3" {
		t.Errorf("OAC %v", oac.Inputs)
	}
	if dist.str("webAclId") == "" || dist.str("defaultCacheBehavior.viewerProtocolPolicy") != "redirect-to-https" {
		t.Error("distribution lacks WAF or HTTPS redirect")
	}
	if dist.str("orderedCacheBehaviors.0.pathPattern") != "/api/*" || dist.str("orderedCacheBehaviors.0.targetOriginId") != "api" {
		t.Errorf("/api/* does not go to the ALB: %v", dist.get("orderedCacheBehaviors"))
	}
	if waf := inv.one("aws:wafv2/webAcl:WebAcl", "edge"); waf.str("scope") != "CLOUDFRONT" {
		t.Errorf("WAF scope %q", waf.str("scope"))
	}
}

var secretNames = map[string]bool{"DATABASE_PASSWORD": true, "VALKEY_PASSWORD": true, "SESSION_KEY": true, "ADMIN_PASSWORD": true}

func TestTasksRunNonRootWithReadOnlyRootFilesystem(t *testing.T) {
	tasks := mustDeploy(t).ofType("aws:ecs/taskDefinition:TaskDefinition")
	if len(tasks) != 3 {
		t.Fatalf("%d task definitions, want api, worker, migrate", len(tasks))
	}
	for _, td := range tasks {
		var defs []struct {
			Name                   string
			User                   string
			ReadonlyRootFilesystem bool
			Privileged             bool
			Secrets                []struct{ Name, ValueFrom string }
			Environment            []struct{ Name, Value string }
		}
		if err := json.Unmarshal([]byte(td.str("containerDefinitions")), &defs); err != nil {
			t.Fatalf("%s: %v", td.Name, err)
		}
		for _, d := range defs {
			if d.User == "" || d.User == "0" || strings.HasPrefix(d.User, "0:") || strings.HasPrefix(d.User, "root") {
				t.Errorf("%s/%s runs as %q", td.Name, d.Name, d.User)
			}
			if !d.ReadonlyRootFilesystem || d.Privileged {
				t.Errorf("%s/%s: readonlyRootFilesystem=%v privileged=%v", td.Name, d.Name, d.ReadonlyRootFilesystem, d.Privileged)
			}
			for _, e := range d.Environment {
				if secretNames[e.Name] || strings.Contains(e.Value, "test-") {
					t.Errorf("%s/%s: secret %s in plain environment", td.Name, d.Name, e.Name)
				}
			}
		}
	}
}

func TestObservability(t *testing.T) {
	inv := mustDeploy(t)
	for _, lg := range inv.ofType("aws:cloudwatch/logGroup:LogGroup") {
		if d, _ := lg.get("retentionInDays").(float64); d <= 0 {
			t.Errorf("log group %s keeps logs forever", lg.Name)
		}
	}
	names := map[string]bool{}
	for _, a := range inv.ofType("aws:cloudwatch/metricAlarm:MetricAlarm") {
		names[a.Name] = true
		// A burn-rate window pages through its composite (slo_test.go).
		if acts, _ := a.get("alarmActions").([]any); len(acts) == 0 && !strings.Contains(a.Name, "-burn-") {
			t.Errorf("alarm %s notifies no one", a.Name)
		}
	}
	for _, n := range AlarmNames {
		if !names[n] {
			t.Errorf("missing alarm %s", n)
		}
	}
	if inv.one("aws:elasticache/replicationGroup:ReplicationGroup", "valkey").str("notificationTopicArn") == "" {
		t.Error("Valkey failover events go nowhere")
	}
	if len(inv.ofType("aws:cloudwatch/dashboard:Dashboard")) != 1 {
		t.Error("no dashboard")
	}
}

func TestConfigurationIsChecked(t *testing.T) {
	for key, bad := range map[string]any{
		"loandesk:availabilityZones":     []string{"sa-east-1a", "sa-east-1b"},
		"loandesk:apiMinTasks":           1,
		"loandesk:dbBackupRetentionDays": 3,
		"loandesk:cacheReplicas":         0,
	} {
		if _, err := deploy(t, map[string]any{key: bad}); err == nil || !strings.Contains(err.Error(), strings.TrimPrefix(key, "loandesk:")) {
			t.Errorf("%s=%v: err = %v, want it refused by name", key, bad, err)
		}
	}
}

// prefixListWeight is what a reference to a managed prefix list counts
// against a security group's rules: its maximum entries. CloudFront's
// origin-facing list weighs 55 (AWS: "AWS-managed prefix lists").
var prefixListWeight = map[string]int{"pl-cloudfront": 55}

// rulesPerGroup is the default quota of inbound rules per security group.
const rulesPerGroup = 60

func TestSecurityGroupsFitTheRuleQuota(t *testing.T) {
	weight := map[string]int{}
	for _, r := range mustDeploy(t).ofType("aws:ec2/securityGroupRule:SecurityGroupRule") {
		if r.str("type") != "ingress" {
			continue
		}
		w := 0
		for _, pl := range asStrings(r.get("prefixListIds")) {
			if prefixListWeight[pl] == 0 {
				t.Errorf("rule %s references prefix list %s of unknown weight", r.Name, pl)
			}
			w += prefixListWeight[pl]
		}
		w += len(asStrings(r.get("cidrBlocks"))) + len(asStrings(r.get("ipv6CidrBlocks")))
		if r.str("sourceSecurityGroupId") != "" {
			w++
		}
		weight[r.str("securityGroupId")] += w
	}
	for sg, w := range weight {
		if w > rulesPerGroup {
			t.Errorf("security group %s weighs %d inbound rules, over the quota of %d: the first pulumi up would fail", sg, w, rulesPerGroup)
		}
	}
}

func asStrings(v any) []string {
	var out []string
	for _, x := range asSlice(v) {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func asSlice(v any) []any { s, _ := v.([]any); return s }

// containerDefs reads a task definition's containers.
type containerDef struct {
	Name        string
	Secrets     []struct{ Name, ValueFrom string }
	Environment []struct{ Name, Value string }
	HealthCheck struct{ Command []string }
}

func containers(t *testing.T, td recorded) []containerDef {
	t.Helper()
	var defs []containerDef
	if err := json.Unmarshal([]byte(td.str("containerDefinitions")), &defs); err != nil {
		t.Fatalf("%s: %v", td.Name, err)
	}
	return defs
}

func envOf(d containerDef) map[string]string {
	m := map[string]string{}
	for _, e := range d.Environment {
		m[e.Name] = e.Value
	}
	return m
}

func TestHealthChecksAreLivenessNotTheDatabases(t *testing.T) {
	inv := mustDeploy(t)
	// During an RDS failover /readyz fails on every task at once: a check on
	// it would make the ALB and ECS replace every task, outlasting the failover.
	if p := inv.one("aws:lb/targetGroup:TargetGroup", "api").str("healthCheck.path"); p != "/healthz" {
		t.Errorf("ALB health check on %q, want the liveness /healthz", p)
	}
	for _, td := range inv.ofType("aws:ecs/taskDefinition:TaskDefinition") {
		for _, d := range containers(t, td) {
			if cmd := strings.Join(d.HealthCheck.Command, " "); cmd != "" && !strings.HasSuffix(cmd, "/healthz") {
				t.Errorf("%s health check %q, want /healthz", td.Name, cmd)
			}
		}
	}
}

func TestTheAppsDatabaseCredentialSurvivesARotation(t *testing.T) {
	inv := mustDeploy(t)
	if inv.one("aws:rds/instance:Instance", "postgres").get("iamDatabaseAuthenticationEnabled") != true {
		t.Fatal("IAM database authentication is off")
	}
	for _, td := range inv.ofType("aws:ecs/taskDefinition:TaskDefinition") {
		for _, d := range containers(t, td) {
			env := envOf(d)
			if td.Name == "migrate" {
				// Migrate runs once per deploy with the master password current
				// at its start, and creates the app's role.
				if env["APP_DB_ROLE"] != AppDBUser || !strings.HasPrefix(env["DATABASE_URL"], "postgres://loandesk@") {
					t.Errorf("migrate: %v, want the master user creating %s", env, AppDBUser)
				}
				continue
			}
			// The long-running tasks hold no password that RDS's 7-day rotation
			// could invalidate: an IAM token is made for every connection.
			for _, s := range d.Secrets {
				if s.Name == "DATABASE_PASSWORD" {
					t.Errorf("%s gets DATABASE_PASSWORD, injected once at start and stale after a rotation", td.Name)
				}
			}
			if env["DATABASE_AUTH"] != "iam" || !strings.HasPrefix(env["DATABASE_URL"], "postgres://"+AppDBUser+"@") || env["AWS_REGION"] == "" {
				t.Errorf("%s connects with %v, want IAM tokens as %s", td.Name, env, AppDBUser)
			}
		}
	}
	for _, name := range []string{"api-db-connect", "worker-db-connect"} {
		var policy struct {
			Statement []struct{ Action, Resource string }
		}
		if err := json.Unmarshal([]byte(inv.one("aws:iam/rolePolicy:RolePolicy", name).str("policy")), &policy); err != nil {
			t.Fatal(err)
		}
		want := "arn:aws:rds-db:sa-east-1:123456789012:dbuser:db-MOCKRESOURCEID/" + AppDBUser
		if len(policy.Statement) != 1 || policy.Statement[0].Action != "rds-db:connect" || policy.Statement[0].Resource != want {
			t.Errorf("%s: %+v, want rds-db:connect on %s only", name, policy.Statement, want)
		}
	}
}

func TestEveryTaskSecretResolves(t *testing.T) {
	inv := mustDeploy(t)
	known := map[string]bool{"arn:aws:secretsmanager:sa-east-1:123456789012:secret:rds-db:password::": true}
	for _, s := range inv.ofType("aws:secretsmanager/secret:Secret") {
		known[s.str("arn")] = true
		if s.str("arn") == "" { // the mocks return inputs: rebuild the ARN they give
			known["arn:aws:mock:sa-east-1:123456789012:aws-secretsmanager/secret-Secret/"+s.Name] = true
		}
	}
	var allowed []string
	var policy struct{ Statement []struct{ Resource []string } }
	if err := json.Unmarshal([]byte(inv.one("aws:iam/rolePolicy:RolePolicy", "execution-secrets").str("policy")), &policy); err != nil {
		t.Fatal(err)
	}
	for _, st := range policy.Statement {
		allowed = append(allowed, st.Resource...)
	}
	for _, td := range inv.ofType("aws:ecs/taskDefinition:TaskDefinition") {
		for _, d := range containers(t, td) {
			for _, s := range d.Secrets {
				if !known[s.ValueFrom] {
					t.Errorf("%s: secret %s comes from %s, which this stack does not create", td.Name, s.Name, s.ValueFrom)
				}
				base := strings.TrimSuffix(s.ValueFrom, ":password::")
				readable := false
				for _, a := range allowed {
					readable = readable || a == base
				}
				if !readable {
					t.Errorf("%s: the execution role may not read %s (%s)", td.Name, s.Name, base)
				}
			}
		}
	}
}

func TestBadReleasesRollBackOnAlarms(t *testing.T) {
	inv := mustDeploy(t)
	api := inv.one("aws:ecs/service:Service", "api")
	if api.get("alarms.enable") != true || api.get("alarms.rollback") != true {
		t.Fatalf("api deployment alarms %v, want enabled with rollback", api.get("alarms"))
	}
	alarms := map[string]bool{}
	for _, a := range inv.ofType("aws:cloudwatch/metricAlarm:MetricAlarm") {
		alarms[a.str("name")] = true
	}
	names := asStrings(api.get("alarms.alarmNames"))
	for _, n := range []string{"loandesk-alb-5xx-rate", "loandesk-api-p99-latency"} {
		found := false
		for _, x := range names {
			found = found || x == n
		}
		if !found || !alarms[n] {
			t.Errorf("deployment alarm %s: wired %v, exists %v", n, found, alarms[n])
		}
	}
}

// dimensionsOf is the set of dimensions each metric is published with (AWS
// documentation of each namespace): an alarm with other dimensions never has
// data, and so never fires.
var dimensionsOf = map[string]string{
	"AWS/ApplicationELB HTTPCode_Target_5XX_Count":  "LoadBalancer",
	"AWS/ApplicationELB RequestCount":               "LoadBalancer",
	"AWS/ApplicationELB TargetResponseTime":         "LoadBalancer",
	"AWS/ECS CPUUtilization":                        "ClusterName ServiceName",
	"AWS/RDS FreeStorageSpace":                      "DBInstanceIdentifier",
	"AWS/RDS CPUUtilization":                        "DBInstanceIdentifier",
	"AWS/ElastiCache ReplicationLag":                "CacheClusterId CacheNodeId",
	"AWS/ElastiCache DatabaseMemoryUsagePercentage": "CacheClusterId CacheNodeId",
	QueueMetricNamespace + " " + QueueMetricName:    "",
	// internal/slo's EMF lines declare no dimensions.
	"LoanDesk/loandesk FilingErrors":   "",
	"LoanDesk/loandesk FilingEligible": "",
	"LoanDesk/loandesk FilingSlow":     "",
	"LoanDesk/loandesk FilingAll":      "",
	"LoanDesk/loandesk AdminErrors":    "",
	"LoanDesk/loandesk AdminEligible":  "",
	"LoanDesk/loandesk DecisionsLate":  "",
}

func dimKeys(v any) string {
	m, _ := v.(map[string]any)
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return strings.Join(keys, " ")
}

func TestAlarmDimensionsMatchTheMetrics(t *testing.T) {
	inv := mustDeploy(t)
	check := func(alarm, ns, metric string, dims any) {
		want, known := dimensionsOf[ns+" "+metric]
		if !known {
			t.Errorf("alarm %s: %s %s is not in the table of published dimensions", alarm, ns, metric)
		} else if got := dimKeys(dims); got != want {
			t.Errorf("alarm %s on %s %s has dimensions [%s]; the metric is published with [%s]", alarm, ns, metric, got, want)
		}
	}
	lagAlarms, memoryAlarms := 0, 0
	for _, a := range inv.ofType("aws:cloudwatch/metricAlarm:MetricAlarm") {
		if a.str("metricName") != "" {
			check(a.Name, a.str("namespace"), a.str("metricName"), a.get("dimensions"))
			switch a.str("metricName") {
			case "ReplicationLag":
				lagAlarms++
			case "DatabaseMemoryUsagePercentage":
				memoryAlarms++
			}
		}
		for _, q := range asSlice(a.get("metricQueries")) {
			if m, ok := q.(map[string]any)["metric"].(map[string]any); ok {
				check(a.Name, m["namespace"].(string), m["metricName"].(string), m["dimensions"])
			}
		}
	}
	if lagAlarms != 3 {
		t.Errorf("%d replication-lag alarms, want one per cache node (3)", lagAlarms)
	}
	if memoryAlarms != 4 {
		t.Errorf("%d memory alarms, want one per cache node, the limits' too (4)", memoryAlarms)
	}
	rg := inv.one("aws:elasticache/replicationGroup:ReplicationGroup", "valkey")
	if azs := asStrings(rg.get("preferredCacheClusterAzs")); len(azs) != 3 || azs[0] == azs[1] || azs[1] == azs[2] || azs[0] == azs[2] {
		t.Errorf("cache nodes in %v, want one per AZ", azs)
	}
}

// The rate limits have a cache of their own that refuses writes when full
// (the api then counts in-process) instead of evicting, so limiter keys
// never crowd out sessions; the api believes CloudFront's viewer address
// only from inside the VPC (the ALB); the WAF's own limit answers 429 with
// a problem body, as the api does.
func TestLimitsHaveTheirOwnCacheAndTheirOwnAnswers(t *testing.T) {
	inv := mustDeploy(t)
	rg := inv.one("aws:elasticache/replicationGroup:ReplicationGroup", "valkey-limits")
	for path, want := range map[string]any{"engine": "valkey", "atRestEncryptionEnabled": true, "transitEncryptionEnabled": true} {
		if got := rg.get(path); got != want {
			t.Errorf("valkey-limits %s = %v, want %v", path, got, want)
		}
	}
	if rg.str("authToken") == "" || strings.HasPrefix(rg.str("parameterGroupName"), "default.") {
		t.Errorf("valkey-limits: AUTH token %q, parameter group %q; want a token and its own parameters", rg.str("authToken"), rg.str("parameterGroupName"))
	}
	params := fmt.Sprint(inv.one("aws:elasticache/parameterGroup:ParameterGroup", "valkey-limits").get("parameters"))
	if !strings.Contains(params, "maxmemory-policy") || !strings.Contains(params, "noeviction") {
		t.Errorf("valkey-limits parameters %s, want maxmemory-policy noeviction", params)
	}
	for _, d := range containers(t, inv.one("aws:ecs/taskDefinition:TaskDefinition", "api")) {
		env := envOf(d)
		if !strings.HasPrefix(env["LIMITS_VALKEY_URL"], "rediss://") || env["TRUSTED_PROXIES"] != "10.40.0.0/16" ||
			env["CLIENT_IP_HEADER"] != "CloudFront-Viewer-Address" {
			t.Errorf("api env %v: want the limits' own cache over TLS and the viewer address trusted from the VPC only", env)
		}
		found := false
		for _, s := range d.Secrets {
			found = found || s.Name == "LIMITS_VALKEY_PASSWORD"
		}
		if !found {
			t.Error("the api gets no LIMITS_VALKEY_PASSWORD")
		}
	}
	// PostgreSQL's log (CloudWatch) holds no bind value and no DETAIL.
	pg := fmt.Sprint(inv.one("aws:rds/parameterGroup:ParameterGroup", "postgres17").get("parameters"))
	for _, p := range []string{"log_parameter_max_length value:0", "log_parameter_max_length_on_error value:0", "log_error_verbosity value:terse"} {
		if !strings.Contains(pg, p) {
			t.Errorf("postgres17 parameters %s lack %s", pg, p)
		}
	}
	acl := inv.one("aws:wafv2/webAcl:WebAcl", "edge")
	var rate map[string]any
	for _, r := range asSlice(acl.get("rules")) {
		if m, _ := r.(map[string]any); m["name"] == "rate-limit-per-ip" {
			rate = m
		}
	}
	body := fmt.Sprint(acl.get("customResponseBodies"))
	if fmt.Sprint(rate["action"]) == "" || !strings.Contains(fmt.Sprint(rate["action"]), "responseCode:429") ||
		!strings.Contains(body, `"code":"rate_limited"`) {
		t.Errorf("WAF rate rule %v with bodies %s: want a 429 with a problem body", rate["action"], body)
	}
}
