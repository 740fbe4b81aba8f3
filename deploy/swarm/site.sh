#!/usr/bin/env bash
# Part 3's pipeline: the site on a Swarm, for GitHub (site.yml), GitLab
# (.gitlab-ci.yml) and the rehearsals alike (lib.sh: what app.sh shares).
#   site.sh build|test|push|promote|verify|deploy|smoke|release
# release (local) = build, test, push, promote, deploy, smoke. CI pushes first (by digest), tests
# that digest, scans and signs it, then promotes it to latest; deploy verifies the signature first.
# Environment: docs/swarm.md#the-pipelines-environment.
set -euo pipefail
# shellcheck source=deploy/swarm/lib.sh
. "$(dirname "$0")/lib.sh"
SITE_DIR=${SITE_DIR:-$root/site}
STACK_DIR=${STACK_DIR:-$here}
IMAGE=${IMAGE:?set IMAGE, e.g. ghcr.io/owner/loandesk-site}
STACK=${STACK:-loandesk-site}
TAG="$IMAGE:sha-$REVISION"
PROBE_IMAGE=$TAG

build() {
    log "build $TAG"
    # shellcheck disable=SC2086 # BUILD_CACHE is a list of flags
    docker buildx build --load ${BUILD_CACHE:-} --build-arg "NGINX_IMAGE=$NGINX_IMAGE" "${labels[@]}" -t "$TAG" "$SITE_DIR"
}

# test: runs the image alone and checks what it serves.
# A subshell, so that the container goes even when a check dies (exit).
test_image() (
    mkdir -p "$STATE_DIR"
    local c
    local image=${TEST_IMAGE:-$TAG}
    log "test $image"
    c=$(docker run -d --read-only --tmpfs /tmp --cap-drop ALL "$image")
    trap 'docker rm -f "$c" >/dev/null 2>&1 || true' EXIT
    local state=""
    for _ in $(seq 1 30); do
        state=$(docker inspect -f '{{.State.Health.Status}}' "$c")
        [ "$state" = healthy ] || [ "$state" = unhealthy ] && break
        sleep 0.5
    done
    [ "$state" = healthy ] || die "container never became healthy ($state)"
    local get="docker exec $c wget -q -S -O -"
    local page headers
    # One request: wget -S prints the body on stdout and the headers on stderr.
    page=$($get http://127.0.0.1:8080/ 2>"$STATE_DIR/headers") || die "GET / failed"
    headers=$(cat "$STATE_DIR/headers")
    grep -q '<title>Welcome to nginx!</title>' <<<"$page" || die "/ is not the welcome page"
    for h in "X-Served-By: loandesk-site" "X-Release: $REVISION" "Cache-Control: no-cache" \
        "X-Content-Type-Options: nosniff" "Content-Security-Policy: default-src 'none'" "Server: nginx$"; do
        grep -qE "^ *$h" <<<"$headers" || die "missing header: $h"
    done
    [ "$($get http://127.0.0.1:8080/healthz 2>/dev/null)" = ok ] || die "/healthz is not ok"
    [ "$($get http://127.0.0.1:8080/version 2>/dev/null)" = "{\"release\":\"$REVISION\"}" ] || die "/version is not $REVISION"
    local uid
    uid=$(docker top "$c" -eo pid,uid | awk 'NR > 1 { print $2 }' | sort -u)
    if [ -z "$uid" ] || grep -qx 0 <<<"$uid"; then die "runs as root (uids: $uid)"; fi
    log "test ok: welcome page, our headers, release $REVISION, healthy, uid $uid"
)

push() {
    log "push $TAG"
    mkdir -p "$STATE_DIR"
    if [ "${ATTEST:-0}" = 1 ]; then
        # Same build (a cache hit), pushed with its SBOM and provenance: the
        # one build of this release, under its sha- tag only; latest moves in
        # promote, after test, scan and signature.
        # shellcheck disable=SC2086 # BUILD_CACHE is a list of flags
        docker buildx build "${attested[@]}" ${BUILD_CACHE:-} --build-arg "NGINX_IMAGE=$NGINX_IMAGE" "${labels[@]}" \
            --metadata-file "$STATE_DIR/build.json" -t "$TAG" "$SITE_DIR"
    fi
    local ref
    ref=$(pushed_ref "$IMAGE" "$TAG" "$STATE_DIR/build.json")
    echo "$ref" >"$STATE_DIR/image"
    log "pushed $ref"
}

pushed() { # the digest push recorded
    local ref
    ref=$(cat "$STATE_DIR/image" 2>/dev/null || true)
    case $ref in *@sha256:*) echo "$ref" ;; *) die "no pushed digest in $STATE_DIR/image: run push first" ;; esac
}

# promote: latest now names the tested (scanned, signed) digest.
promote() {
    local ref
    ref=$(pushed)
    log "promote $ref to $IMAGE:latest"
    if [ "${ATTEST:-0}" = 1 ]; then
        docker buildx imagetools create -t "$IMAGE:latest" "$ref" # registry-side: no pull, no rebuild
    else
        docker tag "$TAG" "$IMAGE:latest" && docker push -q "$IMAGE:latest" >/dev/null
    fi
}

verify() { verify_ref "${SITE_IMAGE:-$(pushed)}"; }

svc() { echo "${STACK}_site"; }

deploy() {
    local image=${SITE_IMAGE:-$(cat "$STATE_DIR/image" 2>/dev/null || true)}
    [ -n "$image" ] || die "no image to deploy: run push first or set SITE_IMAGE"
    log "deploy $image to stack $STACK on ${DOCKER_HOST:-the local engine}"
    registry_login "$image"
    local out conf
    conf=$(sha256sum "$STACK_DIR/edge.conf" | cut -c1-12)
    if ! out=$(cd "$STACK_DIR" && SITE_IMAGE=$image EDGE_IMAGE=$NGINX_IMAGE EDGE_PORT=$EDGE_PORT EDGE_CONF_VERSION=$conf \
        docker stack deploy --with-registry-auth -c stack.yml "$STACK" 2>&1); then
        printf '%s\n' "$out" >&2
        die "docker stack deploy failed"
    fi
    await "$(svc)" "$image" || die "the update of $(svc) failed"
    # The edge too, when its config changed (one node at a time: the load
    # balancer or DNS sends to the others meanwhile).
    await "${STACK}_edge" "$(docker service inspect -f '{{.Spec.TaskTemplate.ContainerSpec.Image}}' "${STACK}_edge")" ||
        die "the update of ${STACK}_edge failed"
    log "deploy ok"
}

smoke() {
    log "smoke $PUBLIC_URL for release $REVISION"
    local got=""
    for _ in $(seq 1 60); do
        got=$(http "$PUBLIC_URL/version" 2>/dev/null || true)
        [ "$got" = "{\"release\":\"$REVISION\"}" ] && break
        sleep 1
    done
    if [ "$got" != "{\"release\":\"$REVISION\"}" ] || ! http "$PUBLIC_URL/" | grep -q 'Welcome to nginx!'; then
        log "smoke failed (got $got); rolling back"
        docker service rollback -q "$(svc)" >/dev/null || true
        die "release $REVISION is not served at $PUBLIC_URL"
    fi
    log "smoke ok: $PUBLIC_URL serves release $REVISION"
}

case ${1:-} in
    build) build ;;
    test) test_image ;;
    push) push ;;
    promote) promote ;;
    verify) verify ;;
    deploy) deploy ;;
    smoke) smoke ;;
    release) build; test_image; push; promote; deploy; smoke ;;
    *) echo "usage: $0 build|test|push|promote|verify|deploy|smoke|release" >&2; exit 2 ;;
esac
