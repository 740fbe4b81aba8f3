package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// box is one piece of text as dot placed it, in points.
type box struct {
	owner, text    string
	x0, y0, x1, y1 float64
}

func (a box) overlaps(b box) bool {
	return a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1
}

// overlaps lays the graph out with dot (xdot JSON) and returns every pair of
// labels (node, edge or group labels) whose text boxes intersect: a label
// drawn over another cannot be read.
func overlaps(dir, dotFile string) ([]string, error) {
	cmd := exec.Command("dot", "-Tjson", dotFile)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("dot -Tjson: %w", err)
	}
	var g struct {
		Draw    []op `json:"_ldraw_"`
		Objects []struct {
			Name  string `json:"name"`
			Label string `json:"label"`
			Draw  []op   `json:"_ldraw_"`
		} `json:"objects"`
		Edges []struct {
			Tail, Head int
			Label      string `json:"label"`
			Draw       []op   `json:"_ldraw_"`
		} `json:"edges"`
	}
	if *layout != "" {
		if err := os.WriteFile(*layout, out, 0o644); err != nil {
			return nil, err
		}
	}
	if err := json.Unmarshal(out, &g); err != nil {
		return nil, fmt.Errorf("reading dot's layout: %w", err)
	}
	var boxes []box
	for _, o := range g.Objects {
		boxes = append(boxes, texts(firstLine(o.Label), o.Draw)...)
	}
	for _, e := range g.Edges {
		boxes = append(boxes, texts("edge "+e.Label, e.Draw)...)
	}
	var problems []string
	for i := range boxes {
		for j := i + 1; j < len(boxes); j++ {
			if boxes[i].owner != boxes[j].owner && boxes[i].overlaps(boxes[j]) {
				problems = append(problems, fmt.Sprintf("%q (%s) overlaps %q (%s)", boxes[i].text, boxes[i].owner, boxes[j].text, boxes[j].owner))
			}
		}
	}
	return problems, nil
}

type op struct {
	Op    string    `json:"op"`
	Size  float64   `json:"size"`
	Pt    []float64 `json:"pt"`
	Align string    `json:"align"`
	Width float64   `json:"width"`
	Text  string    `json:"text"`
}

// texts turns an xdot drawing's text operations into boxes: a line's box
// spans its width around the anchor, and its font size from a little below
// the baseline to the cap height.
func texts(owner string, ops []op) []box {
	var out []box
	size := 14.0
	for _, o := range ops {
		switch o.Op {
		case "F":
			size = o.Size
		case "T":
			if len(o.Pt) != 2 || strings.TrimSpace(o.Text) == "" {
				continue
			}
			x0 := o.Pt[0] - o.Width/2
			switch o.Align {
			case "l":
				x0 = o.Pt[0]
			case "r":
				x0 = o.Pt[0] - o.Width
			}
			y := o.Pt[1]
			out = append(out, box{owner, o.Text, x0, y - 0.25*size, x0 + o.Width, y + 0.75*size})
		}
	}
	return out
}

func firstLine(s string) string { l, _, _ := strings.Cut(s, `\n`); return l }
