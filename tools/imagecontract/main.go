// Command imagecontract checks, on the images tagged with the pinned names
// in .env, the points LoanDesk relies on: users and uids, paths, entrypoint
// variables, the encoding, the tools its healthchecks and scripts call.
// Written from the upstream images' Dockerfiles, it runs against whatever
// those names are on the machine: the real images anywhere with a registry,
// the .ci/ stand-ins on the offline CI machine. So a stand-in that diverges
// from upstream on something the product needs fails CI, instead of a
// newcomer's first `docker compose up`.
//
//	go run ./tools/imagecontract      (needs the docker CLI and engine)
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/loandesk/loandesk/tools/pins"
)

func main() {
	pins, err := pins.Read(".env", os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "imagecontract:", err)
		os.Exit(2)
	}
	failed := 0
	for _, c := range contracts(pins) {
		start := time.Now()
		err := c.check()
		status := "ok  "
		if err != nil {
			status, failed = "FAIL", failed+1
		}
		fmt.Printf("  %s %-44s %-52s %4.1fs\n", status, c.image, c.what, time.Since(start).Seconds())
		if err != nil {
			fmt.Printf("       %v\n", err)
		}
	}
	if failed > 0 {
		fmt.Printf("imagecontract: %d check(s) failed\n", failed)
		os.Exit(1)
	}
	fmt.Println("imagecontract: every image keeps the contract the product relies on")
}

type contract struct {
	image, what string
	check       func() error
}

// docker runs the docker CLI and returns its trimmed output.
func docker(args ...string) (string, error) {
	out, err := exec.Command("docker", args...).CombinedOutput()
	s := strings.TrimSpace(string(out))
	if err != nil {
		return s, fmt.Errorf("docker %s: %v: %s", strings.Join(args, " "), err, s)
	}
	return s, nil
}

// run is `docker run --rm image cmd...`.
func run(image string, cmd ...string) (string, error) {
	return docker(append([]string{"run", "--rm", "--entrypoint", cmd[0], image}, cmd[1:]...)...)
}

func expect(got, want, what string) error {
	if got != want {
		return fmt.Errorf("%s: %q, want %q", what, got, want)
	}
	return nil
}

func contains(got, want, what string) error {
	if !strings.Contains(got, want) {
		return fmt.Errorf("%s: %q lacks %q", what, got, want)
	}
	return nil
}

func all(errs ...error) error { return errors.Join(errs...) }

// version is the tag's version: golang:1.26.11-trixie → 1.26.11.
func version(image string) string {
	tag := image[strings.LastIndex(image, ":")+1:]
	v, _, _ := strings.Cut(tag, "-")
	return strings.TrimPrefix(v, "v")
}

// detached starts a container for a check and removes it afterwards.
func detached(args ...string) (id string, stop func(), err error) {
	id, err = docker(append([]string{"run", "-d"}, args...)...)
	return id, func() { _, _ = docker("rm", "-f", "-v", id) }, err
}

// eventually retries cmd in the container until it succeeds (15 s).
func eventually(id string, cmd ...string) (string, error) {
	var out string
	var err error
	for range 60 {
		if out, err = docker(append([]string{"exec", id}, cmd...)...); err == nil {
			return out, nil
		}
		time.Sleep(250 * time.Millisecond)
	}
	logs, _ := docker("logs", "--tail", "20", id)
	return out, fmt.Errorf("%w\nlogs: %s", err, logs)
}

func contracts(p map[string]string) []contract {
	goImg, node, nginx, pg, vk := p["GO_IMAGE"], p["NODE_IMAGE"], p["NGINX_IMAGE"], p["POSTGRES_IMAGE"], p["VALKEY_IMAGE"]
	deb := p["DEBIAN_IMAGE"]
	return []contract{
		// deploy/prometheus/Dockerfile: apt from trixie, groupadd/useradd for
		// its fixed uid, bash for its healthcheck (/dev/tcp).
		{deb, "Debian trixie, root, apt, useradd, bash", func() error {
			v, err := run(deb, "sh", "-c", `. /etc/os-release && echo "$VERSION_CODENAME" && id -u && for t in apt-get groupadd useradd bash; do command -v $t; done | wc -l`)
			return all(err, expect(v, "trixie\n0\n4", "codename, uid, tools"))
		}},
		{goImg, "Go at the pinned version, local toolchain, git, root, GOPATH /go", func() error {
			v, err := run(goImg, "go", "env", "GOVERSION", "GOTOOLCHAIN", "GOPATH")
			if err != nil {
				return err
			}
			uid, err := run(goImg, "id", "-u")
			_, gerr := run(goImg, "git", "--version")
			return all(err, gerr, expect(v, "go"+version(goImg)+"\nlocal\n/go", "go env"), expect(uid, "0", "uid"))
		}},
		{node, "Node at the pinned version, npm, user node (1000)", func() error {
			v, err := run(node, "node", "--version")
			_, nerr := run(node, "npm", "--version")
			uid, uerr := run(node, "id", "-u", "node")
			return all(err, nerr, uerr, expect(v, "v"+version(node), "node --version"), expect(uid, "1000", "uid of node"))
		}},
		{nginx, "uid 101, SIGQUIT, :8080 on a read-only root, conf.d, wget, stream and realip with the PROXY protocol, entrypoint hooks", func() error {
			cfg, err := docker("image", "inspect", "-f", "{{.Config.User}} {{.Config.StopSignal}}", nginx)
			if err != nil {
				return err
			}
			id, stop, err := detached("--read-only", "--tmpfs", "/tmp", "--cap-drop", "ALL", nginx)
			defer stop()
			if err != nil {
				return err
			}
			page, werr := eventually(id, "wget", "-q", "-O", "-", "http://127.0.0.1:8080/")
			conf, cerr := docker("exec", id, "nginx", "-T")
			// web/nginx/nginx.conf: a TCP layer (stream, limit_conn, geo,
			// map) handing the client's address to the HTTP server over the
			// PROXY protocol (realip), and hooks in /docker-entrypoint.d.
			_, terr := docker("exec", id, "sh", "-c", `printf '%s\n' \
				'include /etc/nginx/modules-enabled/*.conf;' 'pid /tmp/t.pid;' 'events {}' \
				'stream { geo $t { default 0; } map $t $k { default $binary_remote_addr; } limit_conn_zone $k zone=c:1m;' \
				'  server { listen 9000; limit_conn c 1; proxy_pass unix:/tmp/t.sock; proxy_protocol on; } }' \
				'http { client_body_temp_path /tmp/b; proxy_temp_path /tmp/p; fastcgi_temp_path /tmp/f; uwsgi_temp_path /tmp/u; scgi_temp_path /tmp/s;' '  server { listen unix:/tmp/t.sock proxy_protocol; set_real_ip_from unix:; real_ip_header proxy_protocol; } }' \
				>/tmp/t.conf && nginx -t -c /tmp/t.conf && test -d /docker-entrypoint.d`)
			return all(werr, cerr, terr, expect(cfg, "101 SIGQUIT", "user and stop signal"), contains(page, "<html", "GET /"),
				contains(conf, "include /etc/nginx/conf.d/*.conf", "nginx -T"))
		}},
		{pg, "PostgreSQL 17 as 999 on a read-only root: _FILE secret, INITDB_ARGS → UTF8, unaccent, pg_trgm, pg_isready", func() error {
			id, stop, err := detached("--user", "999:999", "--read-only", "--tmpfs", "/var/run/postgresql", "--tmpfs", "/tmp",
				"--tmpfs", "/var/lib/postgresql/data:uid=999,gid=999",
				"-e", "POSTGRES_USER=contract", "-e", "POSTGRES_DB=contract", "-e", "POSTGRES_PASSWORD_FILE=/tmp/pw",
				"-e", "POSTGRES_INITDB_ARGS=--encoding=UTF8 --locale=C.UTF-8 --locale-provider=builtin",
				"--entrypoint", "sh", pg, "-c", "printf secret > /tmp/pw && exec docker-entrypoint.sh postgres")
			defer stop()
			if err != nil {
				return err
			}
			if _, err := eventually(id, "pg_isready", "-U", "contract", "-d", "contract", "-h", "127.0.0.1"); err != nil {
				return err
			}
			psql := func(q string) (string, error) {
				return docker("exec", "-e", "PGPASSWORD=secret", id, "psql", "-h", "127.0.0.1", "-U", "contract", "-d", "contract", "-tAc", q)
			}
			ver, verr := psql("SHOW server_version_num")
			enc, eerr := psql("SHOW server_encoding")
			low, lerr := psql("SELECT lower('PÉREZ ÑANDÚ')")
			_, xerr := psql("CREATE EXTENSION unaccent; CREATE EXTENSION pg_trgm")
			return all(verr, eerr, lerr, xerr, expect(strings.TrimSpace(ver)[:2], "17", "major version"), expect(enc, "UTF8", "encoding"),
				expect(low, "pérez ñandú", "lower()"))
		}},
		{vk, "Valkey 8.1 as 999 on a read-only root, AOF in /data, reachable without protected mode", func() error {
			net := fmt.Sprintf("contract-%d", time.Now().UnixNano())
			if _, err := docker("network", "create", net); err != nil {
				return err
			}
			defer func() { _, _ = docker("network", "rm", net) }()
			id, stop, err := detached("--network", net, "--network-alias", "valkey", "--user", "999:999", "--read-only",
				"--tmpfs", "/data:uid=999,gid=999", vk, "valkey-server", "--appendonly", "yes")
			defer stop()
			if err != nil {
				return err
			}
			pong, perr := eventually(id, "valkey-cli", "ping")
			remote, rerr := docker("run", "--rm", "--network", net, "--entrypoint", "valkey-cli", vk, "-h", "valkey", "ping")
			v, verr := docker("exec", id, "valkey-server", "--version")
			return all(perr, rerr, verr, expect(pong, "PONG", "ping"), expect(remote, "PONG", "ping from another container"),
				contains(v, "v=8.1", "version"))
		}},
		{p["RUNTIME_IMAGE"], "no shell; CA bundle, tzdata, nonroot 65532", func() error {
			id, err := docker("create", p["RUNTIME_IMAGE"], "/nothing")
			if err != nil {
				return err
			}
			defer func() { _, _ = docker("rm", id) }()
			out, err := exec.Command("sh", "-c", "docker export "+id+" | tar -t").Output()
			if err != nil {
				return fmt.Errorf("listing the filesystem: %v", err)
			}
			files := "\n" + string(out)
			var errs []error
			for _, f := range []string{"etc/ssl/certs/ca-certificates.crt", "usr/share/zoneinfo/", "etc/passwd"} {
				if !strings.Contains(files, "\n"+f) {
					errs = append(errs, fmt.Errorf("no /%s", f))
				}
			}
			if strings.Contains(files, "\nbin/sh") {
				errs = append(errs, errors.New("has /bin/sh"))
			}
			passwd, perr := exec.Command("sh", "-c", "docker export "+id+" | tar -xO etc/passwd").Output()
			return all(append(errs, perr, contains(string(passwd), "nonroot:x:65532:65532", "/etc/passwd"))...)
		}},
		{p["PLAYWRIGHT_IMAGE"], "Node and a Chromium Playwright can drive", func() error {
			_, err := run(p["PLAYWRIGHT_IMAGE"], "node", "--version")
			b, berr := run(p["PLAYWRIGHT_IMAGE"], "sh", "-c", `if [ -n "$CHROMIUM_PATH" ]; then "$CHROMIUM_PATH" --version; else ls -d /ms-playwright/chromium-*; fi`)
			return all(err, berr, contains(strings.ToLower(b), "chromium", "browser"))
		}},
		{p["REGISTRY_IMAGE"], "serves /v2/ on :5000, config and storage paths", func() error {
			net := fmt.Sprintf("contract-%d", time.Now().UnixNano())
			if _, err := docker("network", "create", net); err != nil {
				return err
			}
			defer func() { _, _ = docker("network", "rm", net) }()
			id, stop, err := detached("--network", net, "--network-alias", "registry", p["REGISTRY_IMAGE"])
			defer stop()
			if err != nil {
				return err
			}
			var body string
			for range 40 {
				if body, err = docker("run", "--rm", "--network", net, "--entrypoint", "wget", nginx, "-q", "-O", "-", "http://registry:5000/v2/"); err == nil {
					break
				}
				time.Sleep(250 * time.Millisecond)
			}
			args, aerr := docker("inspect", "-f", "{{json .Config.Cmd}} {{json .Config.Volumes}}", id)
			return all(err, aerr, expect(body, "{}", "GET /v2/"), contains(args, "/etc/distribution/config.yml", "command"),
				contains(args, "/var/lib/registry", "volumes"))
		}},
		{p["DOCKER_CLI_IMAGE"], "docker, buildx and a shell for the GitLab jobs", func() error {
			_, err := run(p["DOCKER_CLI_IMAGE"], "docker", "--version")
			_, berr := run(p["DOCKER_CLI_IMAGE"], "docker", "buildx", "version")
			_, serr := run(p["DOCKER_CLI_IMAGE"], "sh", "-c", "true")
			return all(err, berr, serr)
		}},
	}
}
