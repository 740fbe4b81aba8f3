package main

import (
	"fmt"
	"sort"
	"strings"
)

// Node is the fields of GET /nodes that the node verdicts read.
type Node struct {
	ID          string
	Description struct{ Hostname string }
	Status      struct{ State string } // ready, down, unknown, disconnected
	// ManagerStatus is nil on a worker.
	ManagerStatus *struct {
		Leader       bool
		Reachability string // reachable, unreachable, unknown
	}
}

// NodeDown is Done once the managers see node name down.
func NodeDown(nodes []Node, name string) (Outcome, string) {
	for _, n := range nodes {
		if n.Description.Hostname == name {
			if n.Status.State == "down" {
				return Done, name + " is down"
			}
			return Waiting, name + " is " + n.Status.State
		}
	}
	return Failed, "no node " + name
}

// NodesReady is Done once every node is ready and every manager reachable,
// one of them the leader: the Swarm whole again, its quorum intact.
func NodesReady(nodes []Node) (Outcome, string) {
	var seen []string
	ready, leaders := true, 0
	for _, n := range nodes {
		state := n.Status.State
		if m := n.ManagerStatus; m != nil {
			state += "/" + m.Reachability
			if m.Leader {
				state += "/leader"
				leaders++
			}
			ready = ready && m.Reachability == "reachable"
		}
		ready = ready && n.Status.State == "ready"
		seen = append(seen, n.Description.Hostname+":"+state)
	}
	sort.Strings(seen)
	summary := strings.Join(seen, " ")
	if ready && leaders == 1 && len(nodes) > 0 {
		return Done, summary
	}
	return Waiting, summary
}

// Away is Done once want tasks of the service run on nodes other than away
// (what a lost node ran, rescheduled on the others).
func Away(nodes []Node, tasks []Task, away string, want int) (Outcome, string) {
	host := map[string]string{}
	for _, n := range nodes {
		host[n.ID] = n.Description.Hostname
	}
	running := 0
	for _, t := range tasks {
		if t.DesiredState == "running" && t.Status.State == "running" && host[t.NodeID] != away {
			running++
		}
	}
	why := fmt.Sprintf("%d of %d tasks run away from %s", running, want, away)
	if running >= want {
		return Done, why
	}
	return Waiting, why
}
