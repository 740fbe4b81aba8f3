// Command pgwait watches the data tier's Patroni cluster through the members'
// REST APIs and says when it is where the rehearsal wants it: the waits and
// verdicts of make test-swarm's database phases, in Go rather than shell.
//
//	pgwait [flags] leader [-not NAME]   a running primary (other than NAME) takes writes; prints its name
//	pgwait [flags] healthy              every member is back: one primary, the rest streaming, one synchronous
//	pgwait [flags] switchover [NAME]    moves the primary to NAME, by default the synchronous standby (the
//	                                    only one Patroni hands over to in synchronous mode), then waits
//	                                    for it to take writes; prints its name and the seconds it took
//
// Flags name the members (-member pg1=http://10.0.0.11:8008, repeated) and,
// for a switchover, Patroni's REST credentials (-user, -password-file).
// Progress goes to stderr with the seconds waited; the result to stdout.
// Exit status: 0 done, 1 failed or timed out, 2 bad usage.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/loandesk/loandesk/deploy/swarm/waitcli"
)

func main() {
	waitcli.Main("pgwait", "pgwait", func(ctx context.Context) error { return run(ctx, os.Args[1:], os.Stdout, os.Stderr) })
}

// members is the repeated -member NAME=URL flag, in the order given.
type members struct {
	names []string
	url   map[string]string
}

func (m *members) String() string { return strings.Join(m.names, ",") }

func (m *members) Set(v string) error {
	name, u, ok := strings.Cut(v, "=")
	if !ok || name == "" || !strings.HasPrefix(u, "http") {
		return fmt.Errorf("want NAME=http://host:8008, got %q", v)
	}
	if m.url == nil {
		m.url = map[string]string{}
	}
	if _, dup := m.url[name]; !dup {
		m.names = append(m.names, name)
	}
	m.url[name] = strings.TrimSuffix(u, "/")
	return nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("pgwait", flag.ContinueOnError)
	fs.SetOutput(stderr)
	timeout := fs.Duration("timeout", 2*time.Minute, "give up after this long")
	poll := fs.Duration("poll", 500*time.Millisecond, "ask this often")
	user := fs.String("user", "patroni", "Patroni REST API user (switchover)")
	passwordFile := fs.String("password-file", "", "file holding the Patroni REST API password (switchover)")
	var ms members
	fs.Var(&ms, "member", "NAME=URL of a member's REST API (repeat for each member)")
	if err := fs.Parse(args); err != nil {
		return waitcli.UsageError(err.Error())
	}
	if len(ms.names) == 0 {
		return waitcli.UsageError("name the members: -member pg1=http://host:8008 …")
	}
	rest := fs.Args()
	if len(rest) == 0 {
		return waitcli.UsageError("usage: pgwait [flags] leader [-not NAME] | healthy | switchover NAME")
	}
	p := &patroni{ms: ms, http: &http.Client{Timeout: 2 * time.Second}, user: *user}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	w := &waiter{poll: *poll, timeout: *timeout, out: stderr, start: time.Now()}
	switch rest[0] {
	case "leader":
		sub := flag.NewFlagSet("leader", flag.ContinueOnError)
		sub.SetOutput(stderr)
		not := sub.String("not", "", "a primary other than this member")
		if err := sub.Parse(rest[1:]); err != nil || sub.NArg() != 0 {
			return waitcli.UsageError("usage: pgwait [flags] leader [-not NAME]")
		}
		name, err := w.until(ctx, "a primary", func() (string, bool, string) { return p.writable(ctx, *not) })
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, name)
		return nil
	case "healthy":
		if len(rest) != 1 {
			return waitcli.UsageError("usage: pgwait [flags] healthy")
		}
		summary, err := w.until(ctx, "every member", func() (string, bool, string) {
			c, err := p.cluster(ctx)
			if err != nil {
				return "", false, err.Error()
			}
			ok, why := Healthy(c, ms.names)
			return why, ok, why
		})
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, summary)
		return nil
	case "switchover":
		if len(rest) > 2 || (len(rest) == 2 && ms.url[rest[1]] == "") {
			return waitcli.UsageError("usage: pgwait [flags] switchover [NAME] (a -member)")
		}
		if *passwordFile == "" {
			return waitcli.UsageError("switchover: -password-file names Patroni's REST API password")
		}
		pw, err := os.ReadFile(*passwordFile)
		if err != nil {
			return err
		}
		p.password = strings.TrimSpace(string(pw))
		to := ""
		if len(rest) == 2 {
			to = rest[1]
		}
		from, err := w.until(ctx, "a primary", func() (string, bool, string) { return p.writable(ctx, "") })
		if err != nil {
			return err
		}
		if to == "" {
			c, err := p.cluster(ctx)
			if err != nil {
				return err
			}
			if to = SyncStandby(c); to == "" {
				return errors.New("switchover: no synchronous standby to hand over to")
			}
		}
		if from == to {
			return fmt.Errorf("switchover: %s is the primary already", to)
		}
		if err := p.switchover(ctx, from, to); err != nil {
			return err
		}
		logf(stderr, "switchover %s → %s asked", from, to)
		w.start = time.Now()
		if _, err := w.until(ctx, to+" as the primary", func() (string, bool, string) {
			name, ok, why := p.writable(ctx, from)
			return name, ok && name == to, why
		}); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s %.1f\n", to, time.Since(w.start).Seconds())
		return nil
	}
	return waitcli.UsageError("unknown command " + rest[0] + ": leader, healthy or switchover")
}

// waiter polls a condition, logging each new reason it is not met yet.
type waiter struct {
	poll, timeout time.Duration
	out           io.Writer
	start         time.Time
}

func (w *waiter) until(ctx context.Context, what string, check func() (string, bool, string)) (string, error) {
	last := ""
	for {
		v, ok, why := check()
		if ok {
			logf(w.out, "%s: %s (%.1f s)", what, why, time.Since(w.start).Seconds())
			return v, nil
		}
		if ctx.Err() != nil && last != "" { // the timeout cut this look short: say what the last one saw
			return "", fmt.Errorf("%s: not there after %s (%s)", what, w.timeout, last)
		}
		if why != last {
			logf(w.out, "%s: %s", what, why)
			last = why
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("%s: not there after %s (%s)", what, w.timeout, last)
		case <-time.After(w.poll):
		}
	}
}

// Member and Cluster are the fields of GET /cluster that the verdicts read.
type Member struct {
	Name     string `json:"name"`
	Role     string `json:"role"`  // leader, sync_standby, replica
	State    string `json:"state"` // running, streaming, stopped, starting…
	Timeline int    `json:"timeline"`
	Lag      any    `json:"lag"` // bytes, or "unknown"
}

type Cluster struct {
	Members []Member `json:"members"`
}

// Leader is the running primary of c, other than not.
func Leader(c Cluster, not string) (string, bool, string) {
	for _, m := range c.Members {
		if m.Role == "leader" {
			switch {
			case m.Name == not:
				return "", false, m.Name + " still holds the leader key"
			case m.State != "running":
				return "", false, m.Name + " leads, " + m.State
			}
			return m.Name, true, fmt.Sprintf("%s leads on timeline %d", m.Name, m.Timeline)
		}
	}
	return "", false, "no leader"
}

// SyncStandby is the member that streams as the synchronous standby.
func SyncStandby(c Cluster) string {
	for _, m := range c.Members {
		if m.Role == "sync_standby" && m.State == "streaming" {
			return m.Name
		}
	}
	return ""
}

// Healthy: every one of want is a member; one leads, running; the others
// stream from it, one of them as the synchronous standby.
func Healthy(c Cluster, want []string) (bool, string) {
	byName := map[string]Member{}
	for _, m := range c.Members {
		byName[m.Name] = m
	}
	var parts, missing []string
	leaders, streaming, sync := 0, 0, 0
	for _, name := range want {
		m, ok := byName[name]
		if !ok {
			missing = append(missing, name)
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %s %s TL%d", m.Name, m.Role, m.State, m.Timeline))
		switch {
		case m.Role == "leader" && m.State == "running":
			leaders++
		case m.State == "streaming":
			streaming++
			if m.Role == "sync_standby" {
				sync++
			}
		}
	}
	sort.Strings(missing)
	summary := strings.Join(parts, ", ")
	switch {
	case len(missing) > 0:
		return false, "not a member yet: " + strings.Join(missing, ", ")
	case leaders != 1:
		return false, fmt.Sprintf("%d running leaders: %s", leaders, summary)
	case streaming != len(want)-1:
		return false, "not every replica streams: " + summary
	case sync < 1 && len(want) > 1:
		return false, "no synchronous standby: " + summary
	}
	return true, summary
}

type patroni struct {
	ms             members
	http           *http.Client
	user, password string
}

// cluster is the first answer of any member's GET /cluster: each member
// serves the whole cluster's view (from etcd), so one that is gone is skipped.
func (p *patroni) cluster(ctx context.Context) (Cluster, error) {
	var errs []string
	for _, name := range p.ms.names {
		var c Cluster
		if err := p.get(ctx, p.ms.url[name]+"/cluster", &c); err != nil {
			errs = append(errs, name+": "+err.Error())
			continue
		}
		return c, nil
	}
	return Cluster{}, errors.New("no member answers (" + strings.Join(errs, "; ") + ")")
}

// writable: the leader, per the cluster, also says itself that it is the
// primary and running (GET /primary answers 200 only then).
func (p *patroni) writable(ctx context.Context, not string) (string, bool, string) {
	c, err := p.cluster(ctx)
	if err != nil {
		return "", false, err.Error()
	}
	name, ok, why := Leader(c, not)
	if !ok {
		return "", false, why
	}
	u := p.ms.url[name]
	if u == "" {
		return "", false, name + " leads, but is not a -member"
	}
	if err := p.get(ctx, u+"/primary", nil); err != nil {
		return "", false, name + " leads, its /primary: " + err.Error()
	}
	return name, true, why
}

func (p *patroni) get(ctx context.Context, u string, into any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := p.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s", resp.Status)
	}
	if into == nil {
		return nil
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(into)
}

// switchover asks the current leader to hand over to candidate now.
func (p *patroni) switchover(ctx context.Context, leader, candidate string) error {
	body, _ := json.Marshal(map[string]string{"leader": leader, "candidate": candidate})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.ms.url[leader]+"/switchover", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.SetBasicAuth(p.user, p.password)
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("switchover: %w", err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("switchover %s → %s: %s %s", leader, candidate, resp.Status, strings.TrimSpace(string(msg)))
	}
	return nil
}

func logf(out io.Writer, format string, args ...any) { waitcli.Logf(out, "pgwait", format, args...) }
