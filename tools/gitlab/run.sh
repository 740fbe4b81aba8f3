#!/usr/bin/env bash
# make test-gitlab: runs .gitlab-ci.yml's build and test jobs for real, with
# gitlab-ci-local on this machine's Docker engine (socket binding instead of
# Docker-in-Docker). The other jobs need what this machine cannot reach:
# push, promote (GitLab's registry), scan (trivy's vulnerability database),
# sign (Sigstore's Fulcio and Rekor), deploy (a Swarm over SSH, and cosign
# verify against Rekor).
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=.env
. ./.env
image=loandesk/gitlab-ci-local:dev
docker build -q --build-arg "NODE_IMAGE=$NODE_IMAGE" -t "$image" tools/gitlab >/dev/null
rm -rf .gitlab-ci-local
trap 'rm -rf .gitlab-ci-local; docker images -q registry.example.com/loandesk/loandesk-site | sort -u | xargs -r docker rmi -f >/dev/null' EXIT
# The same path inside as outside: gitlab-ci-local hands it to the engine.
# Its helper (artifacts between jobs: bash, rsync) is this same image, built
# here: the upstream helper would have to be pulled.
docker run --rm -v /var/run/docker.sock:/var/run/docker.sock -v "$PWD:$PWD" -w "$PWD" "$image" \
    gitlab-ci-local --no-evaluate-rule-changes --no-artifacts-to-source --pull-policy if-not-present --helper-image "$image" \
    --ignore-predefined-vars CI_REGISTRY_IMAGE,CI_DEFAULT_BRANCH \
    --variable DOCKER_SOCKET_BINDING=true --volume /var/run/docker.sock:/var/run/docker.sock \
    --variable CI_REGISTRY_IMAGE=registry.example.com/loandesk --variable CI_DEFAULT_BRANCH=main \
    build test
