package main

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/elasticache"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/rds"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/secretsmanager"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// AppDBUser is the database role of the api and the worker: table privileges
// only (no DDL), authenticated by IAM; `loandesk migrate` creates it.
const AppDBUser = "loandesk_app"

// cacheAZs places the cache nodes round the configured zones.
func cacheAZs(cfg Config) []string {
	azs := make([]string, 1+cfg.CacheReplicas)
	for i := range azs {
		azs[i] = cfg.AZs[i%len(cfg.AZs)]
	}
	return azs
}

// CacheMemberIDs are the member clusters ElastiCache creates for the
// replication group (<id>-001, -002, …): per-node metrics name them.
func CacheMemberIDs(cfg Config) []string {
	ids := make([]string, 1+cfg.CacheReplicas)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s-%03d", cfg.Name, i+1)
	}
	return ids
}

// Data is the relational and the non-relational store, both Multi-AZ with
// automatic failover, encrypted, in the data subnets, reachable only from
// the app security group; and the secrets the tasks get injected.
type Data struct {
	DB    *rds.Instance
	Cache *elasticache.ReplicationGroup
	// LimitsCache holds the rate limits only: memory of their own, so
	// limiter keys never crowd out sessions (see NewData).
	LimitsCache *elasticache.ReplicationGroup
	CacheAuth   *secretsmanager.Secret
	SessionKey  *secretsmanager.Secret
	AdminPass   *secretsmanager.Secret
}

func NewData(ctx *pulumi.Context, cfg Config, net *Network, alarms pulumi.StringInput) (*Data, error) {
	d := &Data{}
	dbSubnets, err := rds.NewSubnetGroup(ctx, "db", &rds.SubnetGroupArgs{SubnetIds: ids(net.DataSubnets), Tags: tags(cfg, "db")})
	if err != nil {
		return nil, err
	}
	params, err := rds.NewParameterGroup(ctx, "postgres17", &rds.ParameterGroupArgs{
		Family: pulumi.String("postgres17"),
		Parameters: rds.ParameterGroupParameterArray{
			&rds.ParameterGroupParameterArgs{Name: pulumi.String("rds.force_ssl"), Value: pulumi.String("1")},
			&rds.ParameterGroupParameterArgs{Name: pulumi.String("log_min_duration_statement"), Value: pulumi.String("500")},
			// A slow statement is logged (to CloudWatch) without its bind
			// values, an error without its DETAIL: a search's DNI or email,
			// a unique violation's key, never reach the log.
			&rds.ParameterGroupParameterArgs{Name: pulumi.String("log_parameter_max_length"), Value: pulumi.String("0")},
			&rds.ParameterGroupParameterArgs{Name: pulumi.String("log_parameter_max_length_on_error"), Value: pulumi.String("0")},
			&rds.ParameterGroupParameterArgs{Name: pulumi.String("log_error_verbosity"), Value: pulumi.String("terse")},
		},
		Tags: tags(cfg, "postgres17"),
	})
	if err != nil {
		return nil, err
	}
	d.DB, err = rds.NewInstance(ctx, "postgres", &rds.InstanceArgs{
		Identifier: pulumi.String(cfg.Name), Engine: pulumi.String("postgres"), EngineVersion: pulumi.String("17"),
		InstanceClass: pulumi.String(cfg.DBInstanceClass), AllocatedStorage: pulumi.Int(cfg.DBAllocatedStorage),
		MaxAllocatedStorage: pulumi.Int(cfg.DBAllocatedStorage * 4), StorageType: pulumi.String("gp3"),
		DbName: pulumi.String("loandesk"), Username: pulumi.String("loandesk"),
		// RDS generates and rotates the master password in Secrets Manager;
		// only the one-off migrate task uses it (injected at its start). The
		// api and the worker connect as AppDBUser with IAM tokens, made per
		// connection, so a rotation never strands a running task.
		ManageMasterUserPassword:         pulumi.Bool(true),
		IamDatabaseAuthenticationEnabled: pulumi.Bool(true),
		MultiAz:                          pulumi.Bool(true), StorageEncrypted: pulumi.Bool(true), PubliclyAccessible: pulumi.Bool(false),
		DbSubnetGroupName: dbSubnets.Name, VpcSecurityGroupIds: pulumi.StringArray{net.DataSG.ID()},
		ParameterGroupName:    params.Name,
		BackupRetentionPeriod: pulumi.Int(cfg.DBBackupRetention), BackupWindow: pulumi.String("03:00-04:00"),
		MaintenanceWindow: pulumi.String("sun:04:30-sun:05:30"), CopyTagsToSnapshot: pulumi.Bool(true),
		DeletionProtection: pulumi.Bool(true), SkipFinalSnapshot: pulumi.Bool(false),
		FinalSnapshotIdentifier:    pulumi.String(cfg.Name + "-final"),
		PerformanceInsightsEnabled: pulumi.Bool(true), AutoMinorVersionUpgrade: pulumi.Bool(true),
		EnabledCloudwatchLogsExports: pulumi.StringArray{pulumi.String("postgresql")},
		Tags:                         tags(cfg, "postgres"),
	}, pulumi.Protect(true))
	if err != nil {
		return nil, err
	}
	if _, err := rds.NewEventSubscription(ctx, "postgres-events", &rds.EventSubscriptionArgs{
		SnsTopic: alarms, SourceType: pulumi.String("db-instance"), SourceIds: pulumi.StringArray{d.DB.Identifier},
		EventCategories: pulumi.ToStringArray([]string{"failover", "failure", "low storage", "maintenance"}),
	}); err != nil {
		return nil, err
	}

	secret := func(name, desc string, value pulumi.StringInput) (*secretsmanager.Secret, error) {
		s, err := secretsmanager.NewSecret(ctx, name, &secretsmanager.SecretArgs{
			NamePrefix: pulumi.String(cfg.Name + "/" + name + "-"), Description: pulumi.String(desc), Tags: tags(cfg, name),
		})
		if err != nil {
			return nil, err
		}
		_, err = secretsmanager.NewSecretVersion(ctx, name, &secretsmanager.SecretVersionArgs{SecretId: s.ID(), SecretString: value})
		return s, err
	}
	authToken := cfg.ValkeyAuthToken
	if d.CacheAuth, err = secret("valkey-auth", "Valkey AUTH token", authToken); err != nil {
		return nil, err
	}
	if d.SessionKey, err = secret("session-key", "LoanDesk SESSION_KEY", cfg.SessionKey); err != nil {
		return nil, err
	}
	if d.AdminPass, err = secret("admin-password", "LoanDesk bootstrap admin password", cfg.AdminPassword); err != nil {
		return nil, err
	}

	cacheSubnets, err := elasticache.NewSubnetGroup(ctx, "valkey", &elasticache.SubnetGroupArgs{SubnetIds: ids(net.DataSubnets), Tags: tags(cfg, "valkey")})
	if err != nil {
		return nil, err
	}
	d.Cache, err = elasticache.NewReplicationGroup(ctx, "valkey", &elasticache.ReplicationGroupArgs{
		ReplicationGroupId: pulumi.String(cfg.Name), Description: pulumi.String("LoanDesk sessions and rate limits"),
		Engine: pulumi.String("valkey"), EngineVersion: pulumi.String("8.1"), NodeType: pulumi.String(cfg.CacheNodeType),
		NumCacheClusters: pulumi.Int(1 + cfg.CacheReplicas), Port: pulumi.Int(6379),
		// One node per AZ, the primary in the first: a zone's loss costs one.
		PreferredCacheClusterAzs: pulumi.ToStringArray(cacheAZs(cfg)),
		AutomaticFailoverEnabled: pulumi.Bool(true), MultiAzEnabled: pulumi.Bool(true),
		AtRestEncryptionEnabled: pulumi.Bool(true), TransitEncryptionEnabled: pulumi.Bool(true), AuthToken: authToken,
		SubnetGroupName: cacheSubnets.Name, SecurityGroupIds: pulumi.StringArray{net.DataSG.ID()},
		// default.valkey8 evicts only keys with a TTL (volatile-lru): sessions
		// and rate limits may go under pressure; nothing durable lives here.
		ParameterGroupName:     pulumi.String("default.valkey8"),
		SnapshotRetentionLimit: pulumi.Int(1), SnapshotWindow: pulumi.String("02:00-03:00"),
		NotificationTopicArn: alarms, ApplyImmediately: pulumi.Bool(false), AutoMinorVersionUpgrade: pulumi.Bool(true),
		Tags: tags(cfg, "valkey"),
	})
	if err != nil {
		return nil, err
	}
	// The rate limits' own cache. noeviction: a full one refuses writes and
	// the api counts in-process instead (internal/limiter), where an
	// evicting one would silently hand budgets back. One node and no
	// replica: losing it costs only shared counting (each api task counts
	// alone) until ElastiCache replaces it; nothing in it outlives minutes.
	limitsParams, err := elasticache.NewParameterGroup(ctx, "valkey-limits", &elasticache.ParameterGroupArgs{
		Family: pulumi.String("valkey8"), Description: pulumi.String("LoanDesk rate limits: refuse writes when full"),
		Parameters: elasticache.ParameterGroupParameterArray{
			&elasticache.ParameterGroupParameterArgs{Name: pulumi.String("maxmemory-policy"), Value: pulumi.String("noeviction")},
		},
		Tags: tags(cfg, "valkey-limits"),
	})
	if err != nil {
		return nil, err
	}
	d.LimitsCache, err = elasticache.NewReplicationGroup(ctx, "valkey-limits", &elasticache.ReplicationGroupArgs{
		ReplicationGroupId: pulumi.String(cfg.Name + "-limits"), Description: pulumi.String("LoanDesk rate limits"),
		Engine: pulumi.String("valkey"), EngineVersion: pulumi.String("8.1"), NodeType: pulumi.String(cfg.LimitsCacheNodeType),
		NumCacheClusters: pulumi.Int(1), Port: pulumi.Int(6379),
		AtRestEncryptionEnabled: pulumi.Bool(true), TransitEncryptionEnabled: pulumi.Bool(true), AuthToken: authToken,
		SubnetGroupName: cacheSubnets.Name, SecurityGroupIds: pulumi.StringArray{net.DataSG.ID()},
		ParameterGroupName: limitsParams.Name, ApplyImmediately: pulumi.Bool(false), AutoMinorVersionUpgrade: pulumi.Bool(true),
		Tags: tags(cfg, "valkey-limits"),
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}
