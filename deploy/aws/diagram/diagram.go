package diagram

import (
	"fmt"
	"strings"

	"github.com/blushft/go-diagrams/diagram"
	"github.com/blushft/go-diagrams/nodes/aws"
)

// AZs are drawn as the three zones the stack spans, as columns left to right.
var AZs = []string{"AZ a", "AZ b", "AZ c"}

// Drawing is the diagram and the rows dot must keep: each row's nodes share
// a rank, left to right in the order listed.
type Drawing struct {
	*diagram.Diagram
	Rows [][]*diagram.Node
}

// Build returns the diagram, ready to Render into a directory named dir.
//
// The layout is a network engineer's: the internet along the top, read left
// to right in the order a request travels (components numbered in that
// order), then the VPC with one column per availability zone, a | b | c, and
// in each the public, app and data subnets as rows. Edges that go up (a task
// calling out through its NAT gateway) are declared from the upper node with
// their arrow reversed, so that dot keeps every row in place.
func Build(dir string) (*Drawing, error) {
	d, err := diagram.New(diagram.Filename("architecture"), diagram.Label("LoanDesk on AWS: one region, three availability zones"),
		diagram.Direction("TB"), func(o *diagram.Options) {
			o.Name = dir
			o.Splines = "spline" // orthogonal edges cannot carry labels
			o.NodeSep, o.RankSep = 0.9, 0.9
			o.Attributes["newrank"] = "true"  // rank=same across clusters
			o.Attributes["compound"] = "true" // edges from a subnet's border
			o.Attributes["mclimit"] = "0.01"
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
	users := n(aws.General.Users, 1, "browser: React SPA")
	dns := n(aws.Network.Route53, 2, "")
	cdn := n(aws.Network.Cloudfront, 3, "/* → S3, /api/* → ALB")
	waf := n(aws.Security.Waf, 4, "managed rules,\nrate limit")
	acm := n(aws.Security.CertificateManager, 5, "viewer (us-east-1),\norigin")
	s3 := n(aws.Storage.SimpleStorageServiceS3, 6, "")
	ext := n(aws.General.TradicionalServer, 12, "fixed egress IPs allow-listed")
	secrets := n(aws.Security.SecretsManager, 15, "")
	ecr := n(aws.Compute.Ec2ContainerRegistry, 17, "")
	cw := n(aws.Management.Cloudwatch, 18, "")
	scaling := n(aws.Compute.ApplicationAutoScaling, 19, "api: CPU, requests/target\nworker: queue depth per task")

	d.Connect(users, dns, label("DNS"))
	d.Connect(users, cdn, label("HTTPS"))
	d.Connect(waf, cdn, label("filters"))
	d.Connect(acm, cdn, label("TLS"))
	d.Connect(cdn, s3, label("SPA files (OAC, SigV4)"))

	region := diagram.NewGroup("region").Label("AWS region")
	vpc := diagram.NewGroup("vpc").Label("VPC 10.40.0.0/16")
	region.Group(vpc)
	igw := n(aws.Network.InternetGateway, 7, "")
	alb := n(aws.Network.ElasticLoadBalancing, 8, "HTTPS 443 only\npublic subnets, 3 AZs")
	endpoints := n(aws.Network.Endpoint, 16, "S3 gw; ECR, Logs,\nSecrets Manager")
	vpc.Add(igw, alb, endpoints)
	regional := diagram.NewGroup("regional").Label("regional services")
	regional.Add(secrets, ecr, cw, scaling)
	region.Group(regional)
	d.Connect(cdn, igw, label("/api/* HTTPS + origin header"))
	d.Connect(igw, alb, label("HTTPS"))

	var pubRow, appRow, cacheRow, pgRow []*diagram.Node
	var apis, workers []*diagram.Node
	for i, az := range AZs {
		g := diagram.NewGroup(fmt.Sprintf("az%d", i)).Label(az)
		pub := diagram.NewGroup(fmt.Sprintf("az%d_1pub", i)).Label(fmt.Sprintf("public 10.40.%d.0/20", i*16))
		app := diagram.NewGroup(fmt.Sprintf("az%d_2app", i)).Label(fmt.Sprintf("private app 10.40.%d.0/20", (3+i)*16))
		data := diagram.NewGroup(fmt.Sprintf("az%d_3data", i)).Label(fmt.Sprintf("private data 10.40.%d.0/20", (6+i)*16))
		// The ALB's path into this AZ crosses its public subnet here, left
		// of the NAT gateway, so that it meets no NAT edge.
		via := waypoint()
		nat := n(aws.Network.NatGateway, 11, "")
		api := n(aws.Compute.Fargate, 9, "")
		wk := n(aws.Compute.Fargate, 14, "")
		vk := n(aws.Database.Elasticache, 10, [3]string{"primary", "replica (async)", "replica (async)"}[i])
		pub.Add(via, nat)
		app.Add(api, wk)
		data.Add(vk)
		pubRow, appRow, cacheRow = append(pubRow, via, nat), append(appRow, api, wk), append(cacheRow, vk)
		if role := [3]string{"primary", "standby (sync)", ""}[i]; role != "" {
			pg := n(aws.Database.Rds, 13, role)
			data.Add(pg)
			pgRow = append(pgRow, pg)
		}
		// Group returns the child, so each is added on its own (no chaining).
		g.Group(pub)
		g.Group(app)
		g.Group(data)
		vpc.Group(g)
		apis, workers = append(apis, api), append(workers, wk)
		d.Connect(alb, via, plain())
		d.Connect(via, api, label([]string{"HTTP 8000", "", ""}[i]))
		d.Connect(nat, api, up([]string{"HTTPS out", "", ""}[i]))
		d.Connect(nat, wk, up(""))
		d.Connect(ext, nat, up([]string{"", "", "scoring, identity"}[i]))
		d.Connect(api, vk, label([]string{"TLS 6379", "", ""}[i]))
		// Every task reaches the one primary: api for requests, worker for
		// its queue (River's job table). One edge per app subnet says both;
		// it leaves AZ a by the worker, above the primary, and the others
		// by the api, on the primary's side.
		from := api
		if i == 0 {
			from = wk
		}
		d.Connect(from, pgRow[0], label([]string{"SQL, IAM token;\ndecision jobs", "", ""}[i]), fromCluster(app))
	}
	d.Connect(pgRow[0], pgRow[1], label("sync replication"))
	d.Connect(endpoints, ecr, label("image pulls"))
	d.Connect(endpoints, secrets, label("secrets at start"))
	d.Connect(endpoints, cw, label("logs, metrics"))
	d.Connect(cw, scaling, label("alarms"))
	d.Connect(scaling, workers[len(workers)-1], label("desired count"))
	d.Group(region)
	rows := [][]*diagram.Node{
		{users, cdn, igw, alb, ext},
		append(append([]*diagram.Node{dns, waf, acm, s3}, pubRow...), scaling),
		append(appRow, cw),
		append(cacheRow, endpoints, secrets),
		append(pgRow, ecr),
	}
	return &Drawing{d, rows}, nil
}

func label(l string) diagram.EdgeOption {
	return func(o *diagram.EdgeOptions) {
		o.Label = l
		o.Forward = true
	}
}

// up draws an edge whose traffic flows from head to tail: the tail stays
// the upper node (a NAT gateway above the tasks that call out through it).
func up(l string) diagram.EdgeOption {
	return func(o *diagram.EdgeOptions) {
		o.Label = l
		o.Forward, o.Reverse = false, true
	}
}

// fromCluster starts an edge at the border of the group its tail is in.
func fromCluster(g *diagram.Group) diagram.EdgeOption {
	return func(o *diagram.EdgeOptions) { o.Attributes["ltail"] = g.ID() }
}

// plain draws an edge without an arrowhead (into a waypoint).
func plain() diagram.EdgeOption {
	return func(o *diagram.EdgeOptions) { o.Forward, o.Reverse = false, false }
}

// waypoint is an invisible point that an edge passes through, so that it
// takes the path drawn for it rather than dot's shortest.
func waypoint() *diagram.Node {
	return diagram.NewNode(diagram.NodeShape("point"), diagram.Width(0.01), diagram.Height(0.01), diagram.NodeLabel(""),
		func(o *diagram.NodeOptions) { o.Style = "invis" })
}
