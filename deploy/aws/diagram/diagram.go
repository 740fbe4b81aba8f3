package diagram

import (
	"fmt"
	"strings"

	"github.com/blushft/go-diagrams/diagram"
	"github.com/blushft/go-diagrams/nodes/aws"
)

// AZs are drawn as the three zones the stack spans.
var AZs = []string{"AZ a", "AZ b", "AZ c"}

// Build returns the diagram, ready to Render into a directory named dir.
func Build(dir string) (*diagram.Diagram, error) {
	d, err := diagram.New(diagram.Filename("architecture"), diagram.Label("LoanDesk on AWS: one region, three availability zones"),
		diagram.Direction("LR"), func(o *diagram.Options) {
			o.Name = dir
			o.Splines = "spline" // orthogonal edges cannot carry labels
			o.NodeSep, o.RankSep = 0.9, 1.2
		})
	if err != nil {
		return nil, err
	}
	n := func(f func(...diagram.NodeOption) *diagram.Node, num int, extra string) *diagram.Node {
		label := Label(num)
		if extra != "" {
			label += "\n" + extra
		}
		// go-diagrams makes room for one label line; add the others.
		lines := strings.Count(label, "\n")
		return f(diagram.NodeLabel(label), diagram.Height(1.4+0.4*float64(lines)))
	}
	users := n(aws.General.Users, 18, "browser: React SPA")
	dns := n(aws.Network.Route53, 1, "")
	acm := n(aws.Security.CertificateManager, 2, "viewer (us-east-1) + origin")
	waf := n(aws.Security.Waf, 3, "managed rules + rate limit")
	cdn := n(aws.Network.Cloudfront, 4, "/* → S3, /api/* → ALB")
	s3 := n(aws.Storage.SimpleStorageServiceS3, 5, "")
	ecr := n(aws.Compute.Ec2ContainerRegistry, 12, "")
	secrets := n(aws.Security.SecretsManager, 13, "")
	cw := n(aws.Management.Cloudwatch, 15, "")
	scaling := n(aws.Compute.ApplicationAutoScaling, 16, "api: CPU, requests/target\nworker: queue depth per task")
	ext := n(aws.General.TradicionalServer, 17, "fixed egress IPs allow-listed")

	d.Connect(users, dns, label("DNS"))
	d.Connect(users, cdn, label("HTTPS"))
	d.Connect(waf, cdn, label("filters"))
	d.Connect(acm, cdn, label("TLS"))
	d.Connect(cdn, s3, label("SPA files (OAC, SigV4)"))

	region := diagram.NewGroup("region").Label("AWS region")
	vpc := diagram.NewGroup("vpc").Label("VPC 10.40.0.0/16")
	region.Group(vpc)
	igw := n(aws.Network.InternetGateway, 19, "")
	alb := n(aws.Network.ElasticLoadBalancing, 6, "HTTPS 443 only\npublic subnets, 3 AZs")
	endpoints := n(aws.Network.Endpoint, 14, "S3 gw; ECR, Logs,\nSecrets Manager")
	vpc.Add(igw, alb, endpoints)
	d.Connect(cdn, igw, label("/api/* HTTPS + origin header"))
	d.Connect(igw, alb, label("HTTPS"))

	var apis, workers []*diagram.Node
	var db, cache []*diagram.Node
	for i, az := range AZs {
		g := diagram.NewGroup(fmt.Sprintf("az%d", i)).Label(az)
		pub := diagram.NewGroup(fmt.Sprintf("pub%d", i)).Label(fmt.Sprintf("public 10.40.%d.0/20", i*16))
		app := diagram.NewGroup(fmt.Sprintf("app%d", i)).Label(fmt.Sprintf("private app 10.40.%d.0/20", (3+i)*16))
		data := diagram.NewGroup(fmt.Sprintf("data%d", i)).Label(fmt.Sprintf("private data 10.40.%d.0/20", (6+i)*16))
		nat := n(aws.Network.NatGateway, 7, "")
		api := n(aws.Compute.Fargate, 8, "")
		wk := n(aws.Compute.Fargate, 9, "")
		role := [3]string{"primary", "standby (sync)", ""}[i]
		croles := [3]string{"primary", "replica", "replica"}[i]
		var pg *diagram.Node
		if role != "" {
			pg = n(aws.Database.Rds, 10, role)
			data.Add(pg)
			db = append(db, pg)
		}
		vk := n(aws.Database.Elasticache, 11, croles)
		pub.Add(nat)
		app.Add(api, wk)
		data.Add(vk)
		// Group returns the child, so each is added on its own (no chaining).
		g.Group(pub)
		g.Group(app)
		g.Group(data)
		vpc.Group(g)
		apis, workers, cache = append(apis, api), append(workers, wk), append(cache, vk)
		d.Connect(alb, api, label("HTTP 8000"))
		d.Connect(api, nat, label("HTTPS out"))
		d.Connect(wk, nat, label("HTTPS out"))
		d.Connect(nat, ext, label("scoring, identity"))
		d.Connect(api, cache[i], label("TLS 6379"))
		if pg != nil {
			d.Connect(api, pg, label("SQL, IAM token"))
		}
	}
	d.Connect(db[0], db[1], label("sync replication"))
	d.Connect(cache[0], cache[1], label("async"))
	d.Connect(cache[0], cache[2], label("async"))
	d.Connect(apis[1], db[0], label("SQL, IAM token"))
	d.Connect(apis[2], db[0], label("SQL, IAM token"))
	// The workers' queue is River's job table, in PostgreSQL.
	for i, wk := range workers {
		d.Connect(wk, db[0], label([]string{"decision jobs", "", ""}[i]))
	}
	d.Connect(endpoints, ecr, label("image pulls"))
	d.Connect(endpoints, secrets, label("secrets at start"))
	d.Connect(endpoints, cw, label("logs, metrics"))
	d.Connect(cw, scaling, label(""))
	d.Connect(scaling, workers[0], label("desired count"))
	d.Group(region)
	return d, nil
}

func label(l string) diagram.EdgeOption {
	return func(o *diagram.EdgeOptions) {
		o.Label = l
		o.Forward = true
	}
}
