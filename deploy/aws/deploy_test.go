package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fakeCLI is a stand-in for pulumi, aws, docker, git and npm: it records
// each call in $FAKE_LOG and answers what deploy.sh reads, from the state
// the test sets ($FAKE_*). So the script's order and branches are tested
// offline; the AWS and Pulumi behaviour behind it are the mocks' business.
const fakeCLI = `#!/usr/bin/env bash
name=$(basename "$0")
echo "$name $*" >>"$FAKE_LOG"
args=" $* "
case $name in
pulumi)
    case $args in
    *" config get aws:region "*) echo sa-east-1 ;;
    *" stack output cluster "*) [ -e "$FAKE_DIR/deployed" ] || exit 255; echo loandesk ;;
    *" stack output ecrRepository "*) echo 123456789012.dkr.ecr.sa-east-1.amazonaws.com/loandesk ;;
    *" stack output appSubnets "*) echo '["subnet-1","subnet-2"]' ;;
    *" stack output "*) echo "out-$3" ;;
    *" up "*) [[ $args == *" --target "* ]] || touch "$FAKE_DIR/deployed" ;;
    esac ;;
aws)
    case $args in
    *" ecr describe-images "*) [ -n "${FAKE_IMAGE_EXISTS:-}" ] && echo sha256:e0157 || { echo "ImageNotFoundException" >&2; exit 254; } ;;
    *" ecr get-login-password "*) echo token ;;
    *" ecs run-task "*) echo arn:aws:ecs:task/migrate ;;
    *" ecs describe-tasks "*) echo "${FAKE_MIGRATE_EXIT:-0}" ;;
    *" ecs describe-services "*) # the primary deployment: ours, or the one ECS rolled back to
        svc=${args#* --services }; printf 'COMPLETED\t%s\n' "${FAKE_ROLLED_BACK:-out-${svc%% *}TaskDefinition}" ;;
    esac ;;
docker)
    case $args in
    *" login "*) cat >/dev/null ;; # --password-stdin
    *" buildx inspect "*) [ -e "$FAKE_DIR/builder" ] || exit 1 ;;
    *" buildx create "*) [[ $args == *"--driver docker-container"* ]] && touch "$FAKE_DIR/builder" ;;
    *" buildx build "*)
        prev=""
        for a in "$@"; do [ "$prev" = --metadata-file ] && echo '{"containerimage.digest": "sha256:b0117"}' >"$a"; prev=$a; done ;;
    esac ;;
git) echo 0123456789abcdef ;;
esac
exit 0
`

type deployRun struct {
	calls []string
	out   string
	err   error
}

func runDeploy(t *testing.T, dir string, env ...string) deployRun {
	t.Helper()
	bin := filepath.Join(dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"pulumi", "aws", "docker", "git", "npm"} {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(fakeCLI), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	log := filepath.Join(dir, "calls.log")
	_ = os.Remove(log)
	cmd := exec.Command("bash", "deploy.sh")
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "STACK=prod", "FAKE_LOG="+log, "FAKE_DIR="+dir)
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	b, _ := os.ReadFile(log)
	return deployRun{calls: strings.Split(strings.TrimSpace(string(b)), "\n"), out: string(out), err: err}
}

// index is the position of the first call containing all parts, or -1.
func (r deployRun) index(parts ...string) int {
	for i, c := range r.calls {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(c, p)
		}
		if all {
			return i
		}
	}
	return -1
}

func (r deployRun) before(t *testing.T, first, then []string, why string) {
	t.Helper()
	i, j := r.index(first...), r.index(then...)
	if i < 0 || j < 0 || i > j {
		t.Errorf("%s: %q (call %d) must come before %q (call %d)\n%s", why, first, i, then, j, strings.Join(r.calls, "\n"))
	}
}

func TestFirstDeployPushesTheImageBeforeAnythingUsesIt(t *testing.T) {
	dir := t.TempDir()
	r := runDeploy(t, dir)
	if r.err != nil {
		t.Fatalf("deploy.sh: %v\n%s", r.err, r.out)
	}
	r.before(t, []string{"pulumi config set loandesk:imageTag sha-"}, []string{"pulumi up", "--target"}, "the program needs an image tag to run")
	r.before(t, []string{"docker buildx create", "--driver docker-container"}, []string{"docker buildx build"}, "attestations need a container builder")
	if i := r.index("docker buildx build", "--builder loandesk", "--provenance=true", "--sbom=true", "--push"); i < 0 {
		t.Errorf("the image is not built with SBOM and provenance on the container builder:\n%s", strings.Join(r.calls, "\n"))
	}
	firstFullUp := -1
	for i, c := range r.calls {
		if strings.HasPrefix(c, "pulumi up") && !strings.Contains(c, "--target") {
			firstFullUp = i
			break
		}
	}
	if build := r.index("docker buildx build"); build < 0 || firstFullUp < 0 || build > firstFullUp {
		t.Errorf("services were created (call %d) before their image was pushed (call %d)", firstFullUp, build)
	}
	r.before(t, []string{"aws ecs run-task"}, []string{"aws ecs update-service", "--force-new-deployment"}, "first tasks restart once the schema exists")
	if !strings.Contains(r.out, "123456789012.dkr.ecr.sa-east-1.amazonaws.com/loandesk@sha256:b0117") {
		t.Errorf("the deploy does not say which digest it runs:\n%s", r.out)
	}
}

func TestARerunReusesTheImmutableTag(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "deployed"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r := runDeploy(t, dir, "FAKE_IMAGE_EXISTS=1")
	if r.err != nil {
		t.Fatalf("deploy.sh: %v\n%s", r.err, r.out)
	}
	if r.index("docker buildx build") >= 0 {
		t.Error("rebuilt and pushed a tag that exists: ECR refuses the push (IMMUTABLE)")
	}
	if r.index("--force-new-deployment") >= 0 {
		t.Error("forced a new deployment on a stack that was deployed before")
	}
	if r.index("pulumi config set loandesk:imageTag sha-") < r.index("aws ecs describe-tasks") {
		t.Error("services moved before the migrations finished")
	}
	// A committed Pulumi.prod.yaml holds some older tag: the infrastructure's
	// up (before the migrations) keeps what the services run instead.
	r.before(t, []string{"pulumi config set loandesk:imageTag out-imageTag"}, []string{"pulumi up --yes --skip-preview"}, "the services keep their image until the migrations ran")
	if !strings.Contains(r.out, "loandesk@sha256:e0157") {
		t.Errorf("not the existing digest:\n%s", r.out)
	}
}

func TestFailedMigrationsLeaveTheServicesAlone(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "deployed"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r := runDeploy(t, dir, "FAKE_MIGRATE_EXIT=1")
	if r.err == nil {
		t.Fatal("deploy.sh succeeded although the migrations failed")
	}
	if r.index("pulumi config set loandesk:imageTag sha-") >= 0 || r.index("s3 sync") >= 0 {
		t.Errorf("after failed migrations the services or the SPA moved:\n%s", strings.Join(r.calls, "\n"))
	}
}

// ECS rolls back a release whose tasks fail (the circuit breaker), and the
// services-stable waiter then passes on the old tasks: the deploy must fail,
// naming it, and the SPA of the failed release must not go out.
func TestAReleaseECSRolledBackFailsTheDeploy(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "deployed"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r := runDeploy(t, dir, "FAKE_ROLLED_BACK=arn:aws:ecs:task-definition/api:41")
	if r.err == nil || !strings.Contains(r.out, "rolled it back") {
		t.Fatalf("deploy.sh did not fail on a rolled-back release: %v\n%s", r.err, r.out)
	}
	if r.index("s3 sync") >= 0 {
		t.Error("the SPA went out although its API was rolled back")
	}
	if ok := runDeploy(t, dir); ok.err != nil || ok.index("ecs describe-services", "--services api") < 0 {
		t.Fatalf("a release ECS kept: %v\n%s", ok.err, ok.out)
	}
}

func TestAnImageDigestFromCIIsDeployedAsIs(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "deployed"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r := runDeploy(t, dir, "IMAGE_DIGEST=sha256:tested", "TAG=sha-0123456789ab")
	if r.err != nil {
		t.Fatalf("deploy.sh: %v\n%s", r.err, r.out)
	}
	if r.index("docker buildx build") >= 0 || r.index("ecr describe-images") >= 0 {
		t.Error("built or looked up an image although CI gave the tested digest")
	}
	if !strings.Contains(r.out, "loandesk@sha256:tested") {
		t.Errorf("not the tested digest:\n%s", r.out)
	}
}
