package main

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
)

// Config is the stack's typed configuration (Pulumi.<stack>.yaml, namespace
// "loandesk"). Secrets are set with `pulumi config set --secret`.
type Config struct {
	Name   string   // prefix of every resource name
	Region string   // from aws:region
	AZs    []string // exactly three availability zones
	// VpcCidr is split into /20s: public, app and data subnets per AZ.
	VpcCidr string

	DomainName   string // e.g. loandesk.example.com (CloudFront alias)
	HostedZoneID string // Route 53 zone that holds DomainName
	APIDomain    string // e.g. origin.loandesk.example.com (the ALB's certificate)

	ImageTag        string // loandesk image tag in ECR used by api and worker
	MigrateImageTag string // image tag of the migrate task (runs before services move)
	APIMinTasks     int
	APIMaxTasks     int
	WorkerMinTasks  int
	WorkerMaxTasks  int
	TaskCPU         int // Fargate CPU units per task
	TaskMemory      int // MiB per task

	DBInstanceClass    string
	DBAllocatedStorage int // GiB; storage autoscaling up to 4×
	DBBackupRetention  int // days
	CacheNodeType      string
	CacheReplicas      int // replicas besides the primary
	// LimitsCacheNodeType is the rate limits' own cache (one node).
	LimitsCacheNodeType string
	LogRetentionDays    int
	AlarmEmail          string // optional
	ScoringURL          string
	IdentityURL         string
	AdminEmail          string
	SessionKey          pulumi.StringOutput // secret
	AdminPassword       pulumi.StringOutput // secret
	OriginVerifySecret  pulumi.StringOutput // secret: CloudFront → ALB shared header
	ValkeyAuthToken     pulumi.StringOutput // secret: ElastiCache AUTH token (16–128 printable chars)
}

func intOr(c *config.Config, key string, def int) int {
	if v, err := c.TryInt(key); err == nil {
		return v
	}
	return def
}

func strOr(c *config.Config, key, def string) string {
	if v := c.Get(key); v != "" {
		return v
	}
	return def
}

// LoadConfig reads and checks the configuration; errors name the key.
func LoadConfig(ctx *pulumi.Context) (Config, error) {
	c := config.New(ctx, "loandesk")
	aws := config.New(ctx, "aws")
	cfg := Config{
		Name:                strOr(c, "name", "loandesk"),
		Region:              aws.Require("region"),
		VpcCidr:             strOr(c, "vpcCidr", "10.40.0.0/16"),
		DomainName:          c.Require("domainName"),
		HostedZoneID:        c.Require("hostedZoneId"),
		APIDomain:           c.Require("apiDomain"),
		ImageTag:            c.Require("imageTag"),
		APIMinTasks:         intOr(c, "apiMinTasks", 2),
		APIMaxTasks:         intOr(c, "apiMaxTasks", 10),
		WorkerMinTasks:      intOr(c, "workerMinTasks", 1),
		WorkerMaxTasks:      intOr(c, "workerMaxTasks", 4),
		TaskCPU:             intOr(c, "taskCpu", 256),
		TaskMemory:          intOr(c, "taskMemory", 512),
		DBInstanceClass:     strOr(c, "dbInstanceClass", "db.t4g.medium"),
		DBAllocatedStorage:  intOr(c, "dbAllocatedStorage", 20),
		DBBackupRetention:   intOr(c, "dbBackupRetentionDays", 7),
		CacheNodeType:       strOr(c, "cacheNodeType", "cache.t4g.small"),
		CacheReplicas:       intOr(c, "cacheReplicas", 2),
		LimitsCacheNodeType: strOr(c, "limitsCacheNodeType", "cache.t4g.micro"),
		LogRetentionDays:    intOr(c, "logRetentionDays", 30),
		AlarmEmail:          c.Get("alarmEmail"),
		ScoringURL:          c.Require("scoringUrl"),
		IdentityURL:         c.Require("identityUrl"),
		AdminEmail:          c.Require("adminEmail"),
		SessionKey:          c.RequireSecret("sessionKey"),
		AdminPassword:       c.RequireSecret("adminPassword"),
		OriginVerifySecret:  c.RequireSecret("originVerifySecret"),
		ValkeyAuthToken:     c.RequireSecret("valkeyAuthToken"),
	}
	cfg.MigrateImageTag = strOr(c, "migrateImageTag", cfg.ImageTag)
	if err := c.TryObject("availabilityZones", &cfg.AZs); err != nil || len(cfg.AZs) != 3 {
		return cfg, fmt.Errorf("loandesk:availabilityZones must list exactly three zones of %s (high availability across 3 AZs)", cfg.Region)
	}
	switch {
	case cfg.APIMinTasks < 2:
		return cfg, fmt.Errorf("loandesk:apiMinTasks must be at least 2 (one task per AZ failure)")
	case cfg.APIMaxTasks < cfg.APIMinTasks:
		return cfg, fmt.Errorf("loandesk:apiMaxTasks must be at least apiMinTasks")
	case cfg.WorkerMaxTasks < cfg.WorkerMinTasks || cfg.WorkerMinTasks < 1:
		return cfg, fmt.Errorf("loandesk:workerMinTasks must be at least 1 and at most workerMaxTasks")
	case cfg.DBBackupRetention < 7:
		return cfg, fmt.Errorf("loandesk:dbBackupRetentionDays must be at least 7")
	case cfg.CacheReplicas < 1:
		return cfg, fmt.Errorf("loandesk:cacheReplicas must be at least 1 (automatic failover needs a replica)")
	}
	return cfg, nil
}
