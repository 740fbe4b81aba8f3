// Command diagram renders docs/architecture.{dot,png,svg} from the
// component list in deploy/aws/diagram, with Graphviz's dot.
//
//	go run ./cmd/diagram -out ../../docs
package main

import (
	"bytes"
	"encoding/base64"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/awalterschulze/gographviz"

	"github.com/loandesk/loandesk/deploy/aws/diagram"
)

var layout *string

// draft renders even a diagram that fails the checks, to study its layout.
var draft *bool

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "diagram:", err)
		os.Exit(1)
	}
}

func run() error {
	out := flag.String("out", "docs", "directory for architecture.{dot,png,svg}")
	layout = flag.String("layout", "", "also write dot's layout (xdot JSON) to this file, to study overlaps")
	draft = flag.Bool("draft", false, "render even when labels overlap or edges cross (the problems are printed), to study a layout")
	flag.Parse()
	outDir, err := filepath.Abs(*out)
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "diagram-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	if err := os.Chdir(work); err != nil {
		return err
	}
	d, err := diagram.Build("render")
	if err != nil {
		return err
	}
	if err := d.Render(); err != nil {
		return err
	}
	// dot resolves the icon paths relative to the render directory.
	dir := filepath.Join(work, "render")
	var rows [][]string
	for _, row := range d.Rows {
		var ids []string
		for _, n := range row {
			ids = append(ids, n.ID())
		}
		rows = append(rows, ids)
	}
	if err := stabilize(filepath.Join(dir, "architecture.dot"), rows); err != nil {
		return err
	}
	// A label drawn over another cannot be read: refuse to render that.
	problems, err := overlaps(dir, "architecture.dot")
	if err != nil {
		return err
	}
	if len(problems) > 0 && *draft {
		fmt.Fprintf(os.Stderr, "labels overlap:\n  %s\n", strings.Join(problems, "\n  "))
	} else if len(problems) > 0 {
		return fmt.Errorf("labels overlap in the layout (change deploy/aws/diagram):\n  %s", strings.Join(problems, "\n  "))
	}
	// A crossing makes the reader guess which line goes where: keep them few.
	crossed, err := crossings(dir, "architecture.dot")
	if err != nil {
		return err
	}
	fmt.Printf("diagram: %d pairs of edges cross (at most %d)\n", len(crossed), maxCrossings)
	if len(crossed) > maxCrossings && *draft {
		fmt.Fprintf(os.Stderr, "crossings:\n  %s\n", strings.Join(crossed, "\n  "))
	} else if len(crossed) > maxCrossings {
		return fmt.Errorf("%d pairs of edges cross, over %d (change deploy/aws/diagram):\n  %s", len(crossed), maxCrossings, strings.Join(crossed, "\n  "))
	}
	for _, format := range []string{"png", "svg"} {
		cmd := exec.Command("dot", "-T"+format, "-o", "architecture."+format, "architecture.dot")
		cmd.Dir, cmd.Stderr = dir, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("dot -T%s (is Graphviz installed?): %w", format, err)
		}
	}
	svg, err := os.ReadFile(filepath.Join(dir, "architecture.svg"))
	if err != nil {
		return err
	}
	// Inline the icons so the SVG stands alone (GitHub, browsers).
	var inlineErr error
	svg = regexp.MustCompile(`xlink:href="([^"]+\.png)"`).ReplaceAllFunc(svg, func(m []byte) []byte {
		path := string(bytes.TrimSuffix(bytes.TrimPrefix(m, []byte(`xlink:href="`)), []byte(`"`)))
		img, err := os.ReadFile(filepath.Join(dir, path))
		if err != nil {
			inlineErr = err
			return m
		}
		return []byte(`xlink:href="data:image/png;base64,` + base64.StdEncoding.EncodeToString(img) + `"`)
	})
	if inlineErr != nil {
		return inlineErr
	}
	files := map[string][]byte{"architecture.svg": svg}
	for _, f := range []string{"architecture.dot", "architecture.png"} {
		if files[f], err = os.ReadFile(filepath.Join(dir, f)); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(outDir, name), b, 0o644); err != nil {
			return err
		}
	}
	fmt.Printf("diagram: wrote %s/architecture.{dot,png,svg}\n", outDir)
	return nil
}

// stabilize rewrites the DOT file so that it is the same on every run.
// go-diagrams names nodes with random strings and keeps edges in a map, so
// every node is keyed by its enclosing group and label (both ours), renamed
// n01, n02… in key order, and nodes and edges are written in key order.
// Each of rows (node IDs) is then held on one rank, in the order given, by
// invisible edges: go-diagrams has no way to say either.
func stabilize(path string, rows [][]string) error {
	src, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	parsed, err := gographviz.ParseString(string(src))
	if err != nil {
		return err
	}
	g := gographviz.NewGraph()
	if err := gographviz.Analyse(parsed, g); err != nil {
		return err
	}
	// Connect also adds a grouped node to the root; its home is its group.
	home := func(node string) string {
		var ps []string
		for p := range g.Relations.ChildToParents[node] {
			if p != g.Name {
				ps = append(ps, p)
			}
		}
		if len(ps) == 0 {
			return g.Name
		}
		sort.Strings(ps)
		return ps[0]
	}
	key := func(node string) string { return home(node) + "/" + g.Nodes.Lookup[node].Attrs["label"] }
	nodes := make([]string, 0, len(g.Nodes.Nodes))
	for _, n := range g.Nodes.Nodes {
		nodes = append(nodes, n.Name)
	}
	sort.Slice(nodes, func(i, j int) bool { return key(nodes[i]) < key(nodes[j]) })
	names := map[string]string{}
	for i, n := range nodes {
		if _, dup := names[n]; dup {
			continue
		}
		names[n] = fmt.Sprintf("n%02d", i+1)
	}
	for i := 1; i < len(nodes); i++ {
		if key(nodes[i]) == key(nodes[i-1]) {
			return fmt.Errorf("two nodes share group and label %q; the diagram cannot be made reproducible", key(nodes[i]))
		}
	}
	edges := append([]*gographviz.Edge(nil), g.Edges.Edges...)
	sort.SliceStable(edges, func(i, j int) bool {
		a, b := edges[i], edges[j]
		if ka, kb := key(a.Src), key(b.Src); ka != kb {
			return ka < kb
		}
		if ka, kb := key(a.Dst), key(b.Dst); ka != kb {
			return ka < kb
		}
		return a.Attrs["label"] < b.Attrs["label"]
	})

	out := gographviz.NewGraph()
	if err := out.SetName(g.Name); err != nil {
		return err
	}
	if err := out.SetDir(g.Directed); err != nil {
		return err
	}
	for k, v := range g.Attrs {
		if err := out.AddAttr(g.Name, string(k), v); err != nil {
			return err
		}
	}
	var walk func(parent string) error
	walk = func(parent string) error {
		for _, child := range g.Relations.SortedChildren(parent) {
			if g.IsSubGraph(child) {
				if err := out.AddSubGraph(parent, child, plainAttrs(g.SubGraphs.SubGraphs[child].Attrs)); err != nil {
					return err
				}
				if err := walk(child); err != nil {
					return err
				}
				continue
			}
			if home(child) != parent {
				continue
			}
			if err := out.AddNode(parent, names[child], plainAttrs(g.Nodes.Lookup[child].Attrs)); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(g.Name); err != nil {
		return err
	}
	for _, e := range edges {
		if err := out.AddEdge(names[e.Src], names[e.Dst], e.Dir, plainAttrs(e.Attrs)); err != nil {
			return err
		}
	}
	// dot orders a rank's nodes by where it first meets them, then moves
	// them to cut crossings; across clusters, only the first holds. So the
	// rows' nodes are named first, in order, before any edge or cluster.
	text := strings.TrimSuffix(strings.TrimSpace(out.String()), "}")
	first := strings.Index(text, "\n\tn")
	if first < 0 {
		return fmt.Errorf("no node or edge in the rendered graph")
	}
	var order, ranks strings.Builder
	for _, row := range rows {
		var ns []string
		for _, id := range row {
			if names[id] == "" {
				return fmt.Errorf("a row names a node that is not drawn (%s)", id)
			}
			ns = append(ns, names[id])
		}
		fmt.Fprintf(&order, "\t%s;\n", strings.Join(ns, "; "))
		fmt.Fprintf(&ranks, "\t{ rank=same; %s; }\n", strings.Join(ns, "; "))
	}
	text = text[:first+1] + order.String() + text[first+1:] + ranks.String() + "}\n"
	return os.WriteFile(path, []byte(text), 0o644)
}

func plainAttrs(a gographviz.Attrs) map[string]string {
	m := make(map[string]string, len(a))
	for k, v := range a {
		m[string(k)] = v
	}
	return m
}
