package engine

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDockerHostIsReadAsTheCLIReadsIt(t *testing.T) {
	for _, ok := range []string{"", "unix:///var/run/docker.sock", "tcp://192.168.239.11:2375", "ssh://deploy@manager.example.com", "ssh://deploy@manager:2222"} {
		if _, err := New(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for bad, why := range map[string]string{
		"tcp://192.168.239.11": "name the port",
		"https://engine:2376":  "want unix://, tcp:// or ssh://",
		"npipe:////./pipe/x":   "want unix://, tcp:// or ssh://",
	} {
		if _, err := New(bad); err == nil || !strings.Contains(err.Error(), why) {
			t.Errorf("%q: %v, want %q", bad, err, why)
		}
	}
}

func TestAnswersAndErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/services/api":
			_, _ = w.Write([]byte(`{"ID":"x1"}`))
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"message":"service nope not found"}`))
		}
	}))
	defer srv.Close()
	c, err := New("tcp://" + strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	var s struct{ ID string }
	if err := c.Do(context.Background(), "GET", "/services/api", &s); err != nil || s.ID != "x1" {
		t.Fatalf("got %+v, %v", s, err)
	}
	err = c.Do(context.Background(), "GET", "/services/nope", &s)
	if !NotFound(err) || !strings.Contains(err.Error(), "404 service nope not found") {
		t.Fatalf("got %v, want the engine's 404 and its message", err)
	}
}

// ssh:// runs a command and speaks HTTP over its standard input and output,
// as `docker system dial-stdio` does on the far side; a fake ssh proves the
// client drives it so.
func TestSSHSpeaksThroughTheCommand(t *testing.T) {
	dir := t.TempDir()
	fake := "#!/bin/sh\necho \"$@\" >\"" + filepath.Join(dir, "args") + "\"\n" +
		"while IFS= read -r line; do [ \"$line\" = \"$(printf '\\r')\" ] && break; done\n" +
		"printf 'HTTP/1.1 200 OK\\r\\nContent-Type: application/json\\r\\nContent-Length: 11\\r\\nConnection: close\\r\\n\\r\\n{\"ID\":\"s\"}\\n'\n"
	if err := os.WriteFile(filepath.Join(dir, "ssh"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+":"+os.Getenv("PATH"))
	c, err := New("ssh://deploy@manager.example.com:2222")
	if err != nil {
		t.Fatal(err)
	}
	var s struct{ ID string }
	if err := c.Do(context.Background(), "GET", "/services/api", &s); err != nil || s.ID != "s" {
		t.Fatalf("got %+v, %v", s, err)
	}
	args, _ := os.ReadFile(filepath.Join(dir, "args"))
	if got := strings.TrimSpace(string(args)); got != "-o ConnectTimeout=30 -T -p 2222 -l deploy -- manager.example.com docker system dial-stdio" {
		t.Fatalf("ssh ran with %q", got)
	}
}
