package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"syscall"

	dockerapi "github.com/loandesk/loandesk/deploy/swarm/engine"
)

// engine is what the suite asks of the Docker Engine API (deploy/swarm/engine
// speaks it): find, crash, stop, start and read the stack's containers.
type engine struct {
	api     *dockerapi.Client
	project string
}

func newEngine(socket, project string) (*engine, error) {
	api, err := dockerapi.New("unix://" + socket)
	if err != nil {
		return nil, err
	}
	return &engine{api: api, project: project}, nil
}

func (e *engine) call(ctx context.Context, method, path string, out any) error {
	return e.api.Do(ctx, method, path, out)
}

// container is one container of the stack.
type container struct {
	ID, Name, Service string
	IPs               map[string]string // network name → address
}

// containers lists the stack's running containers of a service ("" for all),
// ordered by name.
func (e *engine) containers(ctx context.Context, service string) ([]container, error) {
	return e.list(ctx, service, false)
}

// allContainers lists every container of the stack, stopped ones too.
func (e *engine) allContainers(ctx context.Context) ([]container, error) {
	return e.list(ctx, "", true)
}

func (e *engine) list(ctx context.Context, service string, all bool) ([]container, error) {
	labels := []string{"com.docker.compose.project=" + e.project}
	if service != "" {
		labels = append(labels, "com.docker.compose.service="+service)
	}
	filters, _ := json.Marshal(map[string][]string{"label": labels})
	var list []struct {
		ID              string
		Names           []string
		Labels          map[string]string
		NetworkSettings struct {
			Networks map[string]struct{ IPAddress string }
		}
	}
	q := "/containers/json?filters=" + url.QueryEscape(string(filters))
	if all {
		q += "&all=1"
	}
	if err := e.call(ctx, "GET", q, &list); err != nil {
		return nil, err
	}
	out := make([]container, 0, len(list))
	for _, c := range list {
		ips := map[string]string{}
		for n, s := range c.NetworkSettings.Networks {
			ips[n] = s.IPAddress
		}
		name := c.ID[:12]
		if len(c.Names) > 0 {
			name = c.Names[0][1:]
		}
		out = append(out, container{ID: c.ID, Name: name, Service: c.Labels["com.docker.compose.service"], IPs: ips})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (e *engine) one(ctx context.Context, service string) (container, error) {
	cs, err := e.containers(ctx, service)
	if err != nil {
		return container{}, err
	}
	if len(cs) == 0 {
		return container{}, fmt.Errorf("no running %s container in project %s", service, e.project)
	}
	return cs[0], nil
}

// state is what the engine knows of a container's life.
type state struct {
	Pid          int
	Running      bool
	OOMKilled    bool
	RestartCount int
	MemoryLimit  int64 // bytes, 0 for none
}

func (e *engine) state(ctx context.Context, id string) (state, error) {
	var c struct {
		RestartCount int
		HostConfig   struct{ Memory int64 }
		State        struct {
			Pid       int
			Running   bool
			OOMKilled bool
		}
	}
	err := e.call(ctx, "GET", "/containers/"+id+"/json", &c)
	return state{Pid: c.State.Pid, Running: c.State.Running, OOMKilled: c.State.OOMKilled, RestartCount: c.RestartCount,
		MemoryLimit: c.HostConfig.Memory}, err
}

// crash kills the container's main process with SIGKILL, as the kernel's
// OOM killer or a node failure would. Not `docker kill`: the engine treats
// that as a deliberate stop and would not apply the restart policy.
// Needs the host's PID namespace (pid: host).
func (e *engine) crash(ctx context.Context, c container) error {
	st, err := e.state(ctx, c.ID)
	if err != nil {
		return err
	}
	if !st.Running || st.Pid == 0 {
		return fmt.Errorf("%s is not running", c.Name)
	}
	if err := syscall.Kill(st.Pid, syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill -9 %d (%s): %w (the suite needs pid: host)", st.Pid, c.Name, err)
	}
	return nil
}

func (e *engine) stop(ctx context.Context, c container) error {
	return e.call(ctx, "POST", "/containers/"+c.ID+"/stop?t=0", nil)
}

func (e *engine) start(ctx context.Context, c container) error {
	return e.call(ctx, "POST", "/containers/"+c.ID+"/start", nil)
}

// memory is the container's memory use as `docker stats` counts it (usage
// less inactive page cache), in bytes.
func (e *engine) memory(ctx context.Context, id string) (uint64, error) {
	var s struct {
		MemoryStats struct {
			Usage uint64
			Stats map[string]uint64
		} `json:"memory_stats"`
	}
	if err := e.call(ctx, "GET", "/containers/"+id+"/stats?stream=false&one-shot=true", &s); err != nil {
		return 0, err
	}
	inactive := s.MemoryStats.Stats["total_inactive_file"] // cgroup v1
	if v, ok := s.MemoryStats.Stats["inactive_file"]; ok && inactive == 0 {
		inactive = v // cgroup v2
	}
	if inactive > s.MemoryStats.Usage {
		inactive = 0
	}
	return s.MemoryStats.Usage - inactive, nil
}

// logs is everything the container wrote, stdout and stderr (raw stream).
func (e *engine) logs(ctx context.Context, id string) ([]byte, error) {
	var b []byte
	err := e.call(ctx, "GET", "/containers/"+id+"/logs?stdout=1&stderr=1", &b)
	return b, err
}
