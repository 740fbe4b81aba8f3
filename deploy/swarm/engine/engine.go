// Package engine is a small Docker Engine API client: the calls our tools
// make (tools/chaos on the compose stack, swarmwait on a Swarm manager), over
// the address DOCKER_HOST names as the docker CLI reads it: unix://, tcp://
// (plain HTTP, as the rehearsal's engines listen) or ssh://, through
// `docker system dial-stdio` on the far side as the CLI does. Unversioned
// paths, so any engine answers in its own current version.
package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"time"
)

// DefaultHost is where the engine listens when DOCKER_HOST is unset.
const DefaultHost = "unix:///var/run/docker.sock"

// Client calls one engine.
type Client struct {
	http *http.Client
	host string
}

// New returns a client of the engine at host (a DOCKER_HOST value; "" is
// DefaultHost). TLS (DOCKER_TLS_VERIFY) is not spoken: reach a remote engine
// over ssh:// instead.
func New(host string) (*Client, error) {
	if host == "" {
		host = DefaultHost
	}
	u, err := url.Parse(host)
	if err != nil {
		return nil, fmt.Errorf("DOCKER_HOST %q: %w", host, err)
	}
	var dial func(ctx context.Context) (net.Conn, error)
	switch u.Scheme {
	case "unix":
		dial = func(ctx context.Context) (net.Conn, error) { return (&net.Dialer{}).DialContext(ctx, "unix", u.Path) }
	case "tcp":
		if u.Port() == "" {
			return nil, fmt.Errorf("DOCKER_HOST %q: name the port (tcp://host:2375)", host)
		}
		dial = func(ctx context.Context) (net.Conn, error) { return (&net.Dialer{}).DialContext(ctx, "tcp", u.Host) }
	case "ssh":
		args := []string{"-o", "ConnectTimeout=30", "-T"}
		if u.Port() != "" {
			args = append(args, "-p", u.Port())
		}
		if u.User != nil {
			args = append(args, "-l", u.User.Username())
		}
		args = append(args, "--", u.Hostname(), "docker", "system", "dial-stdio")
		dial = func(context.Context) (net.Conn, error) { return dialCommand("ssh", args...) }
	default:
		return nil, fmt.Errorf("DOCKER_HOST %q: want unix://, tcp:// or ssh://", host)
	}
	return &Client{host: host, http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext:     func(ctx context.Context, _, _ string) (net.Conn, error) { return dial(ctx) },
		IdleConnTimeout: 30 * time.Second,
	}}}, nil
}

// Error is an answer of the engine's other than success.
type Error struct {
	Method, Path string
	Status       int
	Message      string
}

func (e *Error) Error() string {
	return fmt.Sprintf("docker %s %s: %d %s", e.Method, e.Path, e.Status, e.Message)
}

// NotFound reports whether err is the engine's 404 (no such service, task…).
func NotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

// Do calls method path and decodes the JSON answer into out (nil: ignore it;
// *[]byte: the raw body).
func (c *Client) Do(ctx context.Context, method, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, "http://docker"+path, nil)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("docker %s %s on %s: %w", method, path, c.host, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 && resp.StatusCode != http.StatusNotModified {
		var m struct{ Message string }
		if json.Unmarshal(b, &m) != nil || m.Message == "" {
			m.Message = string(bytes.TrimSpace(b))
		}
		return &Error{Method: method, Path: path, Status: resp.StatusCode, Message: m.Message}
	}
	if out == nil {
		return nil
	}
	if raw, ok := out.(*[]byte); ok {
		*raw = b
		return nil
	}
	return json.Unmarshal(b, out)
}

// dialCommand is a connection over a command's standard input and output.
func dialCommand(name string, args ...string) (net.Conn, error) {
	cmd := exec.Command(name, args...)
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr // ssh says itself why it could not connect
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &cmdConn{cmd: cmd, in: in, out: out}, nil
}

// cmdConn has no deadlines of its own: the HTTP client's timeout closes it.
type cmdConn struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out io.ReadCloser
}

func (c *cmdConn) Read(p []byte) (int, error)  { return c.out.Read(p) }
func (c *cmdConn) Write(p []byte) (int, error) { return c.in.Write(p) }
func (c *cmdConn) Close() error {
	c.in.Close()
	c.out.Close()
	_ = c.cmd.Process.Kill()
	_ = c.cmd.Wait()
	return nil
}
func (c *cmdConn) LocalAddr() net.Addr              { return cmdAddr{} }
func (c *cmdConn) RemoteAddr() net.Addr             { return cmdAddr{} }
func (c *cmdConn) SetDeadline(time.Time) error      { return nil }
func (c *cmdConn) SetReadDeadline(time.Time) error  { return nil }
func (c *cmdConn) SetWriteDeadline(time.Time) error { return nil }

type cmdAddr struct{}

func (cmdAddr) Network() string { return "cmd" }
func (cmdAddr) String() string  { return "dial-stdio" }
