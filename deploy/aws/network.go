package main

import (
	"fmt"
	"net/netip"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Network is one VPC over three AZs with three subnet tiers, one NAT gateway
// per AZ (an AZ failure never cuts the others off), VPC endpoints so that
// image pulls, logs and secrets stay off the internet, and security groups
// chained ALB → app → data.
type Network struct {
	Vpc                                    *ec2.Vpc
	PublicSubnets, AppSubnets, DataSubnets []*ec2.Subnet
	NatGateways                            []*ec2.NatGateway
	NatIPs                                 []*ec2.Eip
	AlbSG, AppSG, DataSG, EndpointSG       *ec2.SecurityGroup
}

// subnetCIDR returns the i-th /20 of a /16 (16 of them: 9 used, 7 spare).
func subnetCIDR(vpc string, i int) (string, error) {
	p, err := netip.ParsePrefix(vpc)
	if err != nil || p.Bits() != 16 || !p.Addr().Is4() {
		return "", fmt.Errorf("loandesk:vpcCidr %q must be an IPv4 /16", vpc)
	}
	b := p.Addr().As4()
	b[2] = byte(i * 16)
	return netip.PrefixFrom(netip.AddrFrom4(b), 20).String(), nil
}

func tags(cfg Config, name string, extra ...string) pulumi.StringMap {
	t := pulumi.StringMap{"Name": pulumi.String(cfg.Name + "-" + name), "app": pulumi.String("loandesk")}
	for i := 0; i+1 < len(extra); i += 2 {
		t[extra[i]] = pulumi.String(extra[i+1])
	}
	return t
}

func NewNetwork(ctx *pulumi.Context, cfg Config) (*Network, error) {
	n := &Network{}
	var err error
	n.Vpc, err = ec2.NewVpc(ctx, "vpc", &ec2.VpcArgs{
		CidrBlock: pulumi.String(cfg.VpcCidr), EnableDnsHostnames: pulumi.Bool(true), EnableDnsSupport: pulumi.Bool(true),
		Tags: tags(cfg, "vpc"),
	})
	if err != nil {
		return nil, err
	}
	igw, err := ec2.NewInternetGateway(ctx, "igw", &ec2.InternetGatewayArgs{VpcId: n.Vpc.ID(), Tags: tags(cfg, "igw")})
	if err != nil {
		return nil, err
	}
	publicRT, err := ec2.NewRouteTable(ctx, "public", &ec2.RouteTableArgs{
		VpcId:  n.Vpc.ID(),
		Routes: ec2.RouteTableRouteArray{&ec2.RouteTableRouteArgs{CidrBlock: pulumi.String("0.0.0.0/0"), GatewayId: igw.ID()}},
		Tags:   tags(cfg, "public"),
	})
	if err != nil {
		return nil, err
	}
	dataRT, err := ec2.NewRouteTable(ctx, "data", &ec2.RouteTableArgs{VpcId: n.Vpc.ID(), Tags: tags(cfg, "data")}) // no route out
	if err != nil {
		return nil, err
	}
	var appRTs []*ec2.RouteTable
	for i, az := range cfg.AZs {
		subnet := func(tier string, idx int, public bool) (*ec2.Subnet, error) {
			cidr, err := subnetCIDR(cfg.VpcCidr, idx)
			if err != nil {
				return nil, err
			}
			return ec2.NewSubnet(ctx, fmt.Sprintf("%s-%d", tier, i), &ec2.SubnetArgs{
				VpcId: n.Vpc.ID(), CidrBlock: pulumi.String(cidr), AvailabilityZone: pulumi.String(az),
				MapPublicIpOnLaunch: pulumi.Bool(false), Tags: tags(cfg, fmt.Sprintf("%s-%s", tier, az), "tier", tier),
			})
		}
		pub, err := subnet("public", i, true)
		if err != nil {
			return nil, err
		}
		app, err := subnet("app", 3+i, false)
		if err != nil {
			return nil, err
		}
		data, err := subnet("data", 6+i, false)
		if err != nil {
			return nil, err
		}
		n.PublicSubnets, n.AppSubnets, n.DataSubnets = append(n.PublicSubnets, pub), append(n.AppSubnets, app), append(n.DataSubnets, data)
		if _, err := ec2.NewRouteTableAssociation(ctx, fmt.Sprintf("public-%d", i), &ec2.RouteTableAssociationArgs{SubnetId: pub.ID(), RouteTableId: publicRT.ID()}); err != nil {
			return nil, err
		}
		// One NAT per AZ, with a fixed Elastic IP the providers can allow-list.
		eip, err := ec2.NewEip(ctx, fmt.Sprintf("nat-%d", i), &ec2.EipArgs{Domain: pulumi.String("vpc"), Tags: tags(cfg, "nat-"+az)})
		if err != nil {
			return nil, err
		}
		nat, err := ec2.NewNatGateway(ctx, fmt.Sprintf("nat-%d", i), &ec2.NatGatewayArgs{
			AllocationId: eip.ID(), SubnetId: pub.ID(), Tags: tags(cfg, "nat-"+az),
		}, pulumi.DependsOn([]pulumi.Resource{igw}))
		if err != nil {
			return nil, err
		}
		n.NatIPs, n.NatGateways = append(n.NatIPs, eip), append(n.NatGateways, nat)
		appRT, err := ec2.NewRouteTable(ctx, fmt.Sprintf("app-%d", i), &ec2.RouteTableArgs{
			VpcId:  n.Vpc.ID(),
			Routes: ec2.RouteTableRouteArray{&ec2.RouteTableRouteArgs{CidrBlock: pulumi.String("0.0.0.0/0"), NatGatewayId: nat.ID()}},
			Tags:   tags(cfg, "app-"+az),
		})
		if err != nil {
			return nil, err
		}
		appRTs = append(appRTs, appRT)
		if _, err := ec2.NewRouteTableAssociation(ctx, fmt.Sprintf("app-%d", i), &ec2.RouteTableAssociationArgs{SubnetId: app.ID(), RouteTableId: appRT.ID()}); err != nil {
			return nil, err
		}
		if _, err := ec2.NewRouteTableAssociation(ctx, fmt.Sprintf("data-%d", i), &ec2.RouteTableAssociationArgs{SubnetId: data.ID(), RouteTableId: dataRT.ID()}); err != nil {
			return nil, err
		}
	}

	// Security groups: each tier admits only the tier in front of it.
	sg := func(name, desc string) (*ec2.SecurityGroup, error) {
		return ec2.NewSecurityGroup(ctx, name, &ec2.SecurityGroupArgs{
			VpcId: n.Vpc.ID(), Description: pulumi.String(desc), Tags: tags(cfg, name),
			Egress: ec2.SecurityGroupEgressArray{&ec2.SecurityGroupEgressArgs{
				Protocol: pulumi.String("-1"), FromPort: pulumi.Int(0), ToPort: pulumi.Int(0), CidrBlocks: pulumi.StringArray{pulumi.String("0.0.0.0/0")},
			}},
		})
	}
	if n.AlbSG, err = sg("alb", "ALB: HTTPS from CloudFront only"); err != nil {
		return nil, err
	}
	if n.AppSG, err = sg("app", "ECS tasks: from the ALB only"); err != nil {
		return nil, err
	}
	if n.DataSG, err = sg("data", "RDS and ElastiCache: from ECS tasks only"); err != nil {
		return nil, err
	}
	if n.EndpointSG, err = sg("endpoints", "VPC interface endpoints: HTTPS from ECS tasks"); err != nil {
		return nil, err
	}
	cloudfront, err := ec2.LookupManagedPrefixList(ctx, &ec2.LookupManagedPrefixListArgs{Name: pulumi.StringRef("com.amazonaws.global.cloudfront.origin-facing")})
	if err != nil {
		return nil, err
	}
	rules := []struct {
		name     string
		sg       *ec2.SecurityGroup
		port     int
		from     *ec2.SecurityGroup
		prefixes []string
	}{
		// One rule only: each reference to CloudFront's prefix list weighs
		// its 55 entries against the 60 rules a group may hold by default.
		// CloudFront reaches the origin over HTTPS only, so 443 is enough.
		{"alb-https-from-cloudfront", n.AlbSG, 443, nil, []string{cloudfront.Id}},
		{"app-from-alb", n.AppSG, 8000, n.AlbSG, nil},
		{"data-postgres-from-app", n.DataSG, 5432, n.AppSG, nil},
		{"data-valkey-from-app", n.DataSG, 6379, n.AppSG, nil},
		{"endpoints-from-app", n.EndpointSG, 443, n.AppSG, nil},
	}
	for _, r := range rules {
		args := &ec2.SecurityGroupRuleArgs{
			Type: pulumi.String("ingress"), SecurityGroupId: r.sg.ID(), Protocol: pulumi.String("tcp"),
			FromPort: pulumi.Int(r.port), ToPort: pulumi.Int(r.port), Description: pulumi.String(r.name),
		}
		if r.from != nil {
			args.SourceSecurityGroupId = r.from.ID()
		}
		if r.prefixes != nil {
			args.PrefixListIds = pulumi.ToStringArray(r.prefixes)
		}
		if _, err := ec2.NewSecurityGroupRule(ctx, r.name, args); err != nil {
			return nil, err
		}
	}

	// Endpoints: S3 (ECR layers) as a gateway; ECR, Logs and Secrets Manager
	// as interfaces in every app subnet.
	var rtIDs pulumi.StringArray
	for _, rt := range appRTs {
		rtIDs = append(rtIDs, rt.ID())
	}
	if _, err := ec2.NewVpcEndpoint(ctx, "s3", &ec2.VpcEndpointArgs{
		VpcId: n.Vpc.ID(), ServiceName: pulumi.Sprintf("com.amazonaws.%s.s3", cfg.Region),
		VpcEndpointType: pulumi.String("Gateway"), RouteTableIds: rtIDs, Tags: tags(cfg, "s3"),
	}); err != nil {
		return nil, err
	}
	var appSubnetIDs pulumi.StringArray
	for _, s := range n.AppSubnets {
		appSubnetIDs = append(appSubnetIDs, s.ID())
	}
	for _, svc := range []string{"ecr.api", "ecr.dkr", "logs", "secretsmanager"} {
		if _, err := ec2.NewVpcEndpoint(ctx, svc, &ec2.VpcEndpointArgs{
			VpcId: n.Vpc.ID(), ServiceName: pulumi.Sprintf("com.amazonaws.%s.%s", cfg.Region, svc),
			VpcEndpointType: pulumi.String("Interface"), PrivateDnsEnabled: pulumi.Bool(true),
			SubnetIds: appSubnetIDs, SecurityGroupIds: pulumi.StringArray{n.EndpointSG.ID()}, Tags: tags(cfg, svc),
		}); err != nil {
			return nil, err
		}
	}
	return n, nil
}

func ids[T interface{ ID() pulumi.IDOutput }](rs []T) pulumi.StringArray {
	var out pulumi.StringArray
	for _, r := range rs {
		out = append(out, r.ID())
	}
	return out
}
