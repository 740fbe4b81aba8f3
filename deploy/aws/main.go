// Command loandesk-aws is the Pulumi program for LoanDesk on AWS (Part 1 of
// the challenge). docs/architecture.md explains the design; each component
// below is one file.
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

func main() {
	pulumi.Run(func(ctx *pulumi.Context) error {
		cfg, err := LoadConfig(ctx)
		if err != nil {
			return err
		}
		s, err := Build(ctx, cfg)
		if err != nil {
			return err
		}
		ctx.Export("url", pulumi.Sprintf("https://%s", cfg.DomainName))
		ctx.Export("ecrRepository", s.Compute.Repo.RepositoryUrl)
		ctx.Export("spaBucket", s.Edge.Bucket.Bucket)
		ctx.Export("distributionId", s.Edge.Distribution.ID())
		ctx.Export("cluster", s.Compute.Cluster.Name)
		ctx.Export("migrateTaskDefinition", s.Compute.MigrateTask.Arn)
		ctx.Export("imageTag", pulumi.String(cfg.ImageTag)) // what the services run: deploy.sh keeps it until the migrations ran
		// deploy.sh checks each service runs these, not what ECS rolled back to.
		ctx.Export("apiTaskDefinition", s.Compute.APITask.Arn)
		ctx.Export("workerTaskDefinition", s.Compute.WorkerTask.Arn)
		ctx.Export("appSubnets", ids(s.Network.AppSubnets))
		ctx.Export("appSecurityGroup", s.Network.AppSG.ID())
		var natIPs pulumi.StringArray
		for _, ip := range s.Network.NatIPs {
			natIPs = append(natIPs, ip.PublicIp)
		}
		// Give these to the scoring and identity providers to allow-list.
		ctx.Export("egressIps", natIPs)
		return nil
	})
}

// Stack is every component, for the exports and the tests.
type Stack struct {
	Network *Network
	Data    *Data
	Compute *Compute
	Edge    *Edge
}

// Build creates the whole stack in dependency order.
func Build(ctx *pulumi.Context, cfg Config) (*Stack, error) {
	s := &Stack{}
	var err error
	if s.Network, err = NewNetwork(ctx, cfg); err != nil {
		return nil, err
	}
	topic, err := NewAlarmTopic(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if s.Data, err = NewData(ctx, cfg, s.Network, topic.Arn); err != nil {
		return nil, err
	}
	certs, err := NewCertificates(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if s.Compute, err = NewCompute(ctx, cfg, s.Network, s.Data, certs.Origin.CertificateArn); err != nil {
		return nil, err
	}
	if s.Edge, err = NewEdge(ctx, cfg, certs, s.Compute); err != nil {
		return nil, err
	}
	return s, NewObservability(ctx, cfg, topic, s.Compute, s.Data)
}
