package main

import (
	"encoding/json"
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
	worker := inv.one("aws:appautoscaling/policy:Policy", "worker-queue")
	if worker.str("targetTrackingScalingPolicyConfiguration.customizedMetricSpecification.metricName") != QueueMetricName {
		t.Error("worker does not scale on the queue depth")
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

func TestALBServesHTTPSWithACMAndRedirectsHTTP(t *testing.T) {
	inv := mustDeploy(t)
	https := inv.one("aws:lb/listener:Listener", "https")
	if https.get("port") != float64(443) || https.str("protocol") != "HTTPS" || !strings.Contains(https.str("certificateArn"), "acm/certificate-Certificate/origin-cert") {
		t.Errorf("https listener %v %v %v", https.get("port"), https.get("protocol"), https.get("certificateArn"))
	}
	if !strings.Contains(https.str("sslPolicy"), "TLS13") {
		t.Errorf("ssl policy %q", https.str("sslPolicy"))
	}
	http := inv.one("aws:lb/listener:Listener", "http")
	if http.str("defaultActions.0.type") != "redirect" || http.str("defaultActions.0.redirect.protocol") != "HTTPS" ||
		http.str("defaultActions.0.redirect.statusCode") != "HTTP_301" {
		t.Errorf("http listener %v, want a 301 to HTTPS", http.get("defaultActions"))
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
			if len(d.Secrets) == 0 {
				t.Errorf("%s/%s gets no secrets from Secrets Manager", td.Name, d.Name)
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
		if acts, _ := a.get("alarmActions").([]any); len(acts) == 0 {
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
