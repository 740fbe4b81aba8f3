package main

import (
	"fmt"
	"os/exec"
	"strconv"
	"strings"
)

// maxCrossings is how many pairs of edges may cross in the rendered diagram.
// Three remain, all on the way to the one PostgreSQL primary: the api and
// worker tasks of AZs b and c reach it in AZ a, and the standby's
// replication edge runs the other way (see deploy/aws/diagram). A change that
// adds a crossing must move nodes instead, or say here why it cannot.
const maxCrossings = 3

// crossings lays the graph out with dot (plain format) and returns every
// pair of edges whose drawn curves cross, named by their ends' labels.
func crossings(dir, dotFile string) ([]string, error) {
	cmd := exec.Command("dot", "-Tplain", dotFile)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("dot -Tplain: %w", err)
	}
	return crossingsIn(string(out))
}

type point struct{ x, y float64 }

type curve struct {
	tail, head string
	pts        []point // the spline, flattened
}

// crossingsIn reads dot's plain output (graphviz.org/docs/outputs/plain):
// "node NAME X Y W H LABEL …" and "edge TAIL HEAD N X1 Y1 … XN YN [LABEL XL YL] …",
// where the N points are the control points of a cubic B-spline in Bézier
// form (1 + 3k points).
func crossingsIn(plain string) ([]string, error) {
	labels := map[string]string{}
	var edges []curve
	records, err := records(plain)
	if err != nil {
		return nil, err
	}
	for _, f := range records {
		switch f[0] {
		case "node":
			if len(f) < 7 { // node NAME X Y W H LABEL …
				return nil, fmt.Errorf("plain: short node record %q", f)
			}
			labels[f[1]], _, _ = strings.Cut(f[6], "\n")
		case "edge":
			if len(f) < 4 {
				return nil, fmt.Errorf("plain: short edge record %q", f)
			}
			n, err := strconv.Atoi(f[3])
			if err != nil || n < 2 || len(f) < 4+2*n {
				return nil, fmt.Errorf("plain: edge %s→%s has %q control points", f[1], f[2], f[3])
			}
			v, err := floats(f[4 : 4+2*n])
			if err != nil {
				return nil, err
			}
			ctl := make([]point, n)
			for i := range ctl {
				ctl[i] = point{v[2*i], v[2*i+1]}
			}
			if f[len(f)-2] == "invis" { // a layout hint, not drawn
				continue
			}
			edges = append(edges, curve{f[1], f[2], flatten(ctl)})
		}
	}
	var found []string
	for i := range edges {
		for j := i + 1; j < len(edges); j++ {
			if cross(edges[i], edges[j]) {
				a, b := edges[i], edges[j]
				found = append(found, fmt.Sprintf("%q→%q crosses %q→%q",
					labels[a.tail], labels[a.head], labels[b.tail], labels[b.head]))
			}
		}
	}
	return found, nil
}

// flatten samples each cubic Bézier piece of the spline. A spline clipped at
// a cluster's border (compound edges) may not come in whole pieces: its
// control points are then joined by straight lines, which is close enough.
func flatten(ctl []point) []point {
	if (len(ctl)-1)%3 != 0 {
		return ctl
	}
	const steps = 24
	pts := []point{ctl[0]}
	for k := 0; k+3 < len(ctl); k += 3 {
		p0, p1, p2, p3 := ctl[k], ctl[k+1], ctl[k+2], ctl[k+3]
		for s := 1; s <= steps; s++ {
			t := float64(s) / steps
			u := 1 - t
			a, b, c, d := u*u*u, 3*u*u*t, 3*u*t*t, t*t*t
			pts = append(pts, point{a*p0.x + b*p1.x + c*p2.x + d*p3.x, a*p0.y + b*p1.y + c*p2.y + d*p3.y})
		}
	}
	return pts
}

// cross reports whether two edges cross. Edges that share a node are not a
// crossing: they fan out of it, and may touch near it.
func cross(a, b curve) bool {
	if a.tail == b.tail || a.tail == b.head || a.head == b.tail || a.head == b.head {
		return false
	}
	for i := 0; i+1 < len(a.pts); i++ {
		for j := 0; j+1 < len(b.pts); j++ {
			if intersect(a.pts[i], a.pts[i+1], b.pts[j], b.pts[j+1]) {
				return true
			}
		}
	}
	return false
}

// intersect reports whether segments pq and rs cross.
func intersect(p, q, r, s point) bool {
	d := (q.x-p.x)*(s.y-r.y) - (q.y-p.y)*(s.x-r.x)
	if d == 0 {
		return false // parallel: touching along a line is not a crossing
	}
	t := ((r.x-p.x)*(s.y-r.y) - (r.y-p.y)*(s.x-r.x)) / d
	u := ((r.x-p.x)*(q.y-p.y) - (r.y-p.y)*(q.x-p.x)) / d
	return t >= 0 && t <= 1 && u >= 0 && u <= 1
}

// records splits plain output into its statements: one a line, of words or
// double-quoted strings (with backslash escapes), where a quoted label may
// span lines.
func records(text string) ([][]string, error) {
	var out [][]string
	var cur []string
	for i := 0; i < len(text); {
		switch c := text[i]; {
		case c == '\n':
			if len(cur) > 0 {
				out, cur = append(out, cur), nil
			}
			i++
		case c == ' ' || c == '\r' || c == '\t':
			i++
		case c == '"':
			var b strings.Builder
			j := i + 1
			for ; j < len(text) && text[j] != '"'; j++ {
				if text[j] == '\\' && j+1 < len(text) {
					j++
				}
				b.WriteByte(text[j])
			}
			if j >= len(text) {
				return nil, fmt.Errorf("plain: unterminated string at byte %d", i)
			}
			cur = append(cur, b.String())
			i = j + 1
		default:
			j := i
			for j < len(text) && !strings.ContainsRune(" \t\r\n", rune(text[j])) {
				j++
			}
			cur = append(cur, text[i:j])
			i = j
		}
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out, nil
}

func floats(s []string) ([]float64, error) {
	v := make([]float64, len(s))
	for i, x := range s {
		f, err := strconv.ParseFloat(x, 64)
		if err != nil {
			return nil, fmt.Errorf("plain: %q is not a number", x)
		}
		v[i] = f
	}
	return v, nil
}
