// Package swarm holds Part 3's Swarm deployment; this test checks what its
// pipeline hands the Swarm, with a fake docker CLI (make test-site runs it
// for real on a Swarm).
package swarm

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fakeDocker records its calls and answers as a converged Swarm would.
const fakeDocker = `#!/usr/bin/env bash
echo "docker $*" >>"$FAKE_LOG"
case " $* " in
*" login "*) read -r secret; echo "login-secret $secret" >>"$FAKE_LOG" ;;
*"ContainerSpec.Image"*) echo "$SITE_IMAGE" ;;
esac
exit 0
`

// run runs PIPELINE (site.sh, app.sh) STAGE with docker replaced by script, in a fresh
// directory that is also STATE_DIR; it returns the calls docker received
// and that directory.
func run(t *testing.T, script, pipeline, stage string, env ...string) (calls []byte, dir string) {
	t.Helper()
	dir = t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "docker"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	// swarmwait asks the Engine API, not the CLI: the fake says the Swarm converged.
	wait := filepath.Join(dir, "swarmwait")
	for _, tool := range []string{"swarmwait", "cosign"} { // cosign: every signature checks out
		if err := os.WriteFile(filepath.Join(dir, tool), []byte("#!/bin/sh\necho \""+tool+" $*\" >>\"$FAKE_LOG\"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	log := filepath.Join(dir, "calls.log")
	cmd := exec.Command("bash", pipeline, stage)
	cmd.Env = append(append(os.Environ(), "PATH="+dir+":"+os.Getenv("PATH"), "FAKE_LOG="+log, "STATE_DIR="+dir, "SWARMWAIT="+wait), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", pipeline, stage, err, out)
	}
	calls, _ = os.ReadFile(log)
	return calls, dir
}

func TestDeployHandsTheSwarmTheLongLivedPullCredential(t *testing.T) {
	b, _ := run(t, fakeDocker, "site.sh", "deploy", "IMAGE=ghcr.io/acme/loandesk-site", "REVISION=abc123",
		"SITE_IMAGE=ghcr.io/acme/loandesk-site@sha256:0123",
		"REGISTRY_PULL_USER=swarm-reader", "REGISTRY_PULL_TOKEN=read-only-token")
	calls := strings.Split(strings.TrimSpace(string(b)), "\n")
	login, deploy := -1, -1
	for i, c := range calls {
		switch {
		case strings.HasPrefix(c, "docker login -u swarm-reader --password-stdin ghcr.io"):
			login = i
		case strings.HasPrefix(c, "docker stack deploy --with-registry-auth"):
			deploy = i
		}
	}
	// The Swarm keeps the login of the deploying client: it must be the
	// read-only one, given before the deploy, and nothing else.
	if login < 0 || deploy < 0 || login > deploy {
		t.Fatalf("want a login as swarm-reader before stack deploy --with-registry-auth:\n%s", b)
	}
	if !strings.Contains(string(b), "swarmwait -timeout 300s service loandesk-site_site ghcr.io/acme/loandesk-site@sha256:0123\n") {
		t.Fatalf("want the deploy to wait for every task to run the digest:\n%s", b)
	}
	if !strings.Contains(string(b), "login-secret read-only-token") {
		t.Fatalf("the token did not go through stdin:\n%s", b)
	}
}

// fakeBuildx answers buildx as a registry push would: the digest of what it
// pushed goes to --metadata-file.
const fakeBuildx = `#!/usr/bin/env bash
echo "docker $*" >>"$FAKE_LOG"
args=("$@")
for i in "${!args[@]}"; do
	if [ "${args[$i]}" = --metadata-file ]; then
		printf '{\n  "containerimage.digest": "sha256:%s"\n}\n' "$(echo "$*" | sha256sum | cut -c1-64)" >"${args[$((i + 1))]}"
	fi
done
exit 0
`

func TestAppPublishBuildsEachImageOnceAndRecordsItsDigest(t *testing.T) {
	b, dir := run(t, fakeBuildx, "app.sh", "publish",
		"REVISION=abc123", "ATTEST=1", "APP_REPO=ghcr.io/acme/loandesk", "WEB_REPO=ghcr.io/acme/loandesk-web",
		"DB_REPO=ghcr.io/acme/loandesk-postgres")
	calls := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(calls) != 3 {
		t.Fatalf("want exactly three docker calls (one build per image), got:\n%s", b)
	}
	for i, want := range []string{"-t ghcr.io/acme/loandesk:sha-abc123 --target loandesk", "-t ghcr.io/acme/loandesk-web:sha-abc123 -f",
		"-t ghcr.io/acme/loandesk-postgres:sha-abc123 --build-arg GO_IMAGE="} {
		c := calls[i]
		if !strings.HasPrefix(c, "docker buildx build --push --sbom=true --provenance=mode=max") || !strings.Contains(c, want) ||
			!strings.Contains(c, "REVISION=abc123") {
			t.Errorf("build %d: want a pushed, attested build with %q, got\n%s", i, want, c)
		}
	}
	for name, repo := range map[string]string{"app": "ghcr.io/acme/loandesk", "web": "ghcr.io/acme/loandesk-web", "db": "ghcr.io/acme/loandesk-postgres"} {
		ref, _ := os.ReadFile(filepath.Join(dir, name+"-image"))
		if !strings.HasPrefix(string(ref), repo+"@sha256:") || len(strings.TrimSpace(string(ref))) != len(repo)+len("@sha256:")+64 {
			t.Errorf("%s-image: want %s@sha256:<digest>, got %q", name, repo, ref)
		}
	}
}

// The app is its own stack: deployed (with --prune) into the site's, it
// would remove the site's services.
func TestAppDeployNeverTouchesTheSiteStack(t *testing.T) {
	img := "ghcr.io/acme/loandesk@sha256:0123"
	b, _ := run(t, fakeDocker, "app.sh", "deploy", "APP_IMAGE="+img, "WEB_IMAGE="+img, "SITE_IMAGE="+img)
	if !strings.Contains(string(b), "docker stack deploy --with-registry-auth --prune -c app.yml loandesk\n") {
		t.Fatalf("want the app deployed as stack loandesk:\n%s", b)
	}
}

// The data tier is its own stack, made by the first release only (before
// its migrations): deployed again, a changed data.yml would restart its
// three members at once (they change one at a time, docs/operations.md).
func TestOnlyTheFirstReleaseMakesTheDataTier(t *testing.T) {
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, `<div id="root">`, "\nopenapi: 3.1.0")
	}))
	defer site.Close()
	img, db := "ghcr.io/acme/loandesk@sha256:0123", "ghcr.io/acme/loandesk-postgres@sha256:0456"
	env := []string{"APP_IMAGE=" + img, "WEB_IMAGE=" + img, "SITE_IMAGE=" + img, "DB_IMAGE=" + db, "PUBLIC_URL=" + site.URL}
	// Without wget, lib.sh's http runs it in a container: the fake answers for the site.
	answers := strings.Replace(fakeDocker, "esac", `*" run "*) printf '<div id="root">\nopenapi: 3.1.0\n' ;;
esac`, 1)
	first := strings.Replace(answers, "esac", `*" network inspect "*) exit 1 ;;
esac`, 1)
	for _, c := range []struct {
		name, script string
		made         bool
	}{{"first release", first, true}, {"later release", answers, false}} {
		b, _ := run(t, c.script, "app.sh", "release", env...)
		calls := string(b)
		data := strings.Index(calls, "docker stack deploy --with-registry-auth --prune -c data.yml loandesk-data\n")
		migrate := strings.Index(calls, "docker service create --detach --quiet --name loandesk_migrate")
		app := strings.Index(calls, "docker stack deploy --with-registry-auth --prune -c app.yml loandesk\n")
		switch {
		case migrate < 0 || app < migrate:
			t.Errorf("%s: want the migrations, then the app's stack:\n%s", c.name, calls)
		case c.made && (data < 0 || data > migrate):
			t.Errorf("%s: want the data tier's stack made before the migrations:\n%s", c.name, calls)
		case !c.made && data >= 0:
			t.Errorf("%s: the data tier's stack was deployed again:\n%s", c.name, calls)
		case !strings.Contains(calls[migrate:], "--network loandesk-data_backend --no-healthcheck"):
			t.Errorf("%s: want migrate on the data tier's network, without the image's health check (it serves nothing):\n%s", c.name, calls)
		}
	}
}

// docker stack deploy reads the images from its environment: those the
// pipeline's earlier stages recorded (publish, on GitLab) and the pinned
// ones from .env must reach it, not only the caller's own variables.
func TestTheStacksSeeEveryImage(t *testing.T) {
	script := strings.Replace(fakeDocker, "esac", `*" stack deploy "*) echo "images: app=$APP_IMAGE web=$WEB_IMAGE valkey=$VALKEY_IMAGE" >>"$FAKE_LOG" ;;
esac`, 1)
	dir := t.TempDir()
	app, web := "ghcr.io/acme/loandesk@sha256:0123", "ghcr.io/acme/loandesk-web@sha256:0456"
	for name, ref := range map[string]string{"app-image": app, "web-image": web} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(ref+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := run(t, script, "app.sh", "deploy", "SITE_IMAGE="+app, "STATE_DIR="+dir)
	if !strings.Contains(string(b), "images: app="+app+" web="+web+" valkey=valkey/valkey:") {
		t.Fatalf("want the recorded digests and .env's Valkey exported to docker stack deploy:\n%s", b)
	}
}

// A repository without a Swarm (a fork, a fresh copy) must not push images
// and fail a deploy on every change: each pipeline's first job that pushes
// waits for the variable that names where it deploys.
func TestThePipelinesRunOnlyWhereASwarmIsNamed(t *testing.T) {
	for file, guard := range map[string]string{"app.yml": "vars.APP_URL != ''", "site.yml": "vars.SITE_URL != ''"} {
		b, err := os.ReadFile(filepath.Join("..", "..", ".github", "workflows", file))
		if err != nil {
			t.Fatal(err)
		}
		_, publish, ok := strings.Cut(string(b), "\n  publish:\n")
		if !ok {
			t.Fatalf("%s: no publish job", file)
		}
		job, _, _ := strings.Cut(publish, "\n  deploy:\n")
		if !strings.Contains(job, "    if: ") || !strings.Contains(job, guard) {
			t.Errorf("%s: the publish job runs without %s", file, guard)
		}
		if !strings.Contains(publish, "\n  deploy:\n    needs: publish\n") {
			t.Errorf("%s: deploy does not wait for publish (and its guard)", file)
		}
	}
}

// Packages are private by default: the client logs in with the read-only
// pull credential before cosign reads the signatures, and before a release
// starts anything that pulls (the data stack, the migrate job, the app).
func TestThePullCredentialComesBeforeAnythingPulls(t *testing.T) {
	img := "ghcr.io/acme/loandesk@sha256:0123"
	env := []string{"APP_IMAGE=" + img, "WEB_IMAGE=" + img, "DB_IMAGE=" + img, "SITE_IMAGE=" + img,
		"REGISTRY_PULL_USER=swarm-reader", "REGISTRY_PULL_TOKEN=read-only-token",
		"COSIGN_IDENTITY=https://github.com/acme/loandesk/.github/workflows/app.yml@refs/heads/main",
		"COSIGN_ISSUER=https://token.actions.githubusercontent.com"}
	b, _ := run(t, fakeDocker, "app.sh", "verify", env...)
	login, verify := strings.Index(string(b), "docker login -u swarm-reader --password-stdin ghcr.io"), strings.Index(string(b), "cosign verify")
	if login < 0 || verify < 0 || login > verify {
		t.Errorf("verify: want the read-only login before cosign verify:\n%s", b)
	}
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, `<div id="root">`, "\nopenapi: 3.1.0")
	}))
	defer site.Close()
	first := strings.Replace(fakeDocker, "esac", `*" network inspect "*) exit 1 ;;
*" run "*) printf '<div id="root">\nopenapi: 3.1.0\n' ;;
esac`, 1)
	b, _ = run(t, first, "app.sh", "release", append(env, "PUBLIC_URL="+site.URL)...)
	login, data := strings.Index(string(b), "docker login -u swarm-reader"), strings.Index(string(b), "-c data.yml")
	if login < 0 || data < 0 || login > data {
		t.Errorf("release: want the read-only login before the first stack deploy:\n%s", b)
	}
}

// db-restore makes a new PostgreSQL from the backups, beside the data tier
// (restore.yml): the data tier's own image, the moment asked for; never
// over a restore that is still there, and never without a TIME.
func TestARestoreIsANewStackAtTheMomentAsked(t *testing.T) {
	db := "ghcr.io/acme/loandesk-postgres@sha256:0456"
	script := strings.Replace(fakeDocker, "case \" $* \" in", `case " $* " in
*" service inspect loandesk-restore_postgres "*) exit 1 ;;
*" stack deploy "*) echo "restore: image=$DB_IMAGE time=$RESTORE_TIME" >>"$FAKE_LOG" ;;`, 1)
	b, _ := run(t, script, "app.sh", "db-restore", "SITE_IMAGE="+db, "TIME=2026-12-06 21:00:00+00")
	calls := string(b)
	for _, want := range []string{
		"docker service inspect -f {{.Spec.TaskTemplate.ContainerSpec.Image}} loandesk-data_backup",
		"docker stack deploy --with-registry-auth --prune -c restore.yml loandesk-restore\n",
		"restore: image=" + db + " time=2026-12-06 21:00:00+00",
		"swarmwait -timeout 3600s running loandesk-restore_postgres",
	} {
		if !strings.Contains(calls, want) {
			t.Errorf("want %q in the calls:\n%s", want, calls)
		}
	}
	restore, err := os.ReadFile("restore.yml")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`command: ["loandesk-backup", "restore"]`, `RESTORE_TIME: "${RESTORE_TIME:?`,
		`source: backup_key, target: backup_key, uid: "999", gid: "999", mode: 0400`, "condition: none",
		`name: "${DATA_NETWORK:-loandesk-data_backend}"`} {
		if !strings.Contains(string(restore), want) {
			t.Errorf("restore.yml lacks %q", want)
		}
	}

	for name, c := range map[string]struct {
		script, want string
		env          []string
	}{
		"no TIME":        {script, "set TIME", nil},
		"a restore left": {fakeDocker, "loandesk-restore exists", []string{"TIME=2026-12-06 21:00:00+00"}},
	} {
		dir := t.TempDir()
		for tool, script := range map[string]string{"docker": c.script, "swarmwait": "#!/bin/sh\n"} {
			if err := os.WriteFile(filepath.Join(dir, tool), []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		cmd := exec.Command("bash", "app.sh", "db-restore")
		cmd.Env = append(append(os.Environ(), "PATH="+dir+":"+os.Getenv("PATH"), "FAKE_LOG="+filepath.Join(dir, "calls.log"),
			"STATE_DIR="+dir, "SWARMWAIT="+filepath.Join(dir, "swarmwait"), "SITE_IMAGE="+db, "TIME="), c.env...)
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), c.want) {
			t.Errorf("%s: want a failure saying %q, got %v:\n%s", name, c.want, err, out)
		}
		if calls, _ := os.ReadFile(filepath.Join(dir, "calls.log")); strings.Contains(string(calls), "stack deploy") {
			t.Errorf("%s: a stack was deployed:\n%s", name, calls)
		}
	}
}
