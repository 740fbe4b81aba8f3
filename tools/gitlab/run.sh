#!/usr/bin/env bash
# make test-gitlab: runs .gitlab-ci.yml's jobs for real with gitlab-ci-local
# on this machine's Docker engine (socket binding instead of
# Docker-in-Docker): the site's build, test and swarmwait, the app's publish (its three
# images built once and pushed by digest to a throwaway registry that stands
# in for GitLab's; then each digest is looked up there). gitlab-ci-local
# checks the whole file against GitLab's schema first.
#
# Not run here, and why: app:test is `make test` itself; push, promote and
# app:publish's SBOM/provenance need GitLab's registry or a BuildKit
# container (neither can be pulled here: ATTEST=0); scan needs trivy's
# vulnerability database, sign Sigstore's Fulcio and Rekor, deploy a Swarm
# over SSH and cosign verify against Rekor. make test-swarm runs the same
# site.sh and app.sh stages against a real three-node Swarm.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=.env
. ./.env
image=loandesk/gitlab-ci-local:dev
registry=loandesk-gitlab-registry
port=${TEST_GITLAB_REGISTRY_PORT:-15011}
docker build -q --build-arg "NODE_IMAGE=$NODE_IMAGE" -t "$image" tools/gitlab >/dev/null
rm -rf .gitlab-ci-local
cleanup() {
    rm -rf .gitlab-ci-local
    docker rm -f -v "$registry" >/dev/null 2>&1 || true
    docker images --format '{{.Repository}}:{{.Tag}}' | grep -E "^(registry.example.com|127.0.0.1:$port)/loandesk/" |
        xargs -r docker rmi -f >/dev/null 2>&1 || true
}
trap cleanup EXIT
docker rm -f -v "$registry" >/dev/null 2>&1 || true
docker run -d --name "$registry" -p "127.0.0.1:$port:5000" "$REGISTRY_IMAGE" >/dev/null

# The same path inside as outside: gitlab-ci-local hands it to the engine.
# Its helper (artifacts between jobs: bash, rsync) is this same image, built
# here: the upstream helper would have to be pulled.
gcl() {
    docker run --rm -v /var/run/docker.sock:/var/run/docker.sock -v "$PWD:$PWD" -w "$PWD" "$image" \
        gitlab-ci-local --no-evaluate-rule-changes --no-artifacts-to-source --pull-policy if-not-present --helper-image "$image" \
        --ignore-predefined-vars CI_REGISTRY_IMAGE,CI_DEFAULT_BRANCH,CI_COMMIT_BRANCH,CI_REGISTRY,CI_REGISTRY_USER,CI_REGISTRY_PASSWORD \
        --variable DOCKER_SOCKET_BINDING=true --volume /var/run/docker.sock:/var/run/docker.sock \
        --variable CI_DEFAULT_BRANCH=main --variable CI_COMMIT_BRANCH=main \
        --variable CI_REGISTRY="127.0.0.1:$port" --variable CI_REGISTRY_IMAGE="127.0.0.1:$port/loandesk" \
        --variable CI_REGISTRY_USER=ci --variable CI_REGISTRY_PASSWORD=unused-here "$@"
}
gcl build test swarmwait
[ -x .gitlab-ci-local/artifacts/swarmwait/.release/bin/swarmwait ] || { echo "the swarmwait job left no binary" >&2; exit 1; }
gcl --variable ATTEST=0 --variable LOANDESK_SHELL_RUNNER=1 app:publish

# What app:publish handed on as artifacts must be in the registry, by digest.
for name in app web db; do
    ref=$(cat ".gitlab-ci-local/artifacts/appOgpublish/.release/$name-image")
    case $ref in "127.0.0.1:$port/loandesk/"*@sha256:*) ;; *) echo "app:publish left no $name digest (got '$ref')" >&2; exit 1 ;; esac
    got=$(docker buildx imagetools inspect --format '{{json .Manifest.Digest}}' "$ref")
    [ "$got" = "\"${ref#*@}\"" ] || { echo "$ref is not in the registry (got $got)" >&2; exit 1; }
    echo "test-gitlab: app:publish pushed $ref"
done
