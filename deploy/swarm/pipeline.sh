#!/usr/bin/env bash
# Both Swarm pipelines' stages, called by GitHub Actions, GitLab CI and the
# local rehearsals alike. One mechanism for both stacks: deploy by digest,
# wait until every task runs the new image, let Swarm roll a failed update
# back, and fail the pipeline then.
#
# The site (Part 3):
#   pipeline.sh build|test|push|promote|verify|deploy|smoke|release
# release (the local rehearsal) = build, test, push, promote, deploy, smoke.
# CI pushes first (by digest, under the immutable sha- tag only), tests that
# pushed digest, scans and signs it, and only then promotes it to latest;
# deploy verifies the signature before it touches the Swarm.
#
# The app (deploy/swarm/app.yml):
#   pipeline.sh app-publish|app-verify|app-migrate|app-deploy|app-smoke|app-release
# app-publish builds the api/worker image and the web image once each and
# pushes them by digest; CI scans and signs those digests, and app-verify
# checks the signatures before a release.
# app-release = app-migrate (a one-off job of the new image; on the first
# release, after the stack has a database), app-deploy, app-smoke. When the
# update fails, Swarm rolls the failing service back and app-deploy puts every
# other service back on the images it ran before, then fails.
#
# Environment:
#   IMAGE        site: repository to push to (ghcr.io/owner/loandesk-site, 127.0.0.1:5000/loandesk-site)
#   REVISION     site: release id baked into the image (default: the short git commit)
#   SITE_DIR     site: the site's build context (default: site)
#   STACK        Swarm stack name (default: loandesk-site; app-*: loandesk)
#   STACK_DIR    site: where stack.yml and edge.conf are (default: deploy/swarm)
#   APP_REPO, WEB_REPO
#                app-publish: where the two images go (ghcr.io/owner/loandesk, …-web)
#   APP_IMAGE, WEB_IMAGE
#                app: the api/worker/migrate image and the web image, by digest
#                (default: what app-publish left in STATE_DIR)
#   PUBLIC_URL   where the smoke test looks (default: http://127.0.0.1:${EDGE_PORT:-80})
#   DOCKER_HOST  for deploy/smoke: the Swarm manager, e.g. ssh://deploy@manager.example.com
#   BUILD_CACHE  extra buildx cache flags, e.g. "--cache-from type=gha --cache-to type=gha,mode=max"
#   STATE_DIR    where push and app-publish leave the digests (default: .release)
#   SWARMWAIT    a built deploy/swarm/swarmwait (default: built into
#                STATE_DIR/bin from this checkout, with the Go on PATH)
#   MIGRATE_TIMEOUT
#                app-migrate: seconds the migrations may take (default 1800; an
#                index built at 10M requests takes minutes, and a job removed
#                half-way leaves it to be built again)
#   ATTEST=1     push with SBOM and provenance attestations (needs a buildx
#                builder with the docker-container driver, as in CI)
#   TEST_IMAGE   what test runs (default: the local build); CI: the pushed digest
#   COSIGN_IDENTITY, COSIGN_ISSUER
#                verify: the signer the digest must carry (the CI workflow)
#   REGISTRY_PULL_USER, REGISTRY_PULL_TOKEN
#                deploy: a long-lived, read-only registry credential handed to
#                the Swarm (--with-registry-auth). Not the CI job's token: it
#                expires with the job, and a rescheduled task, a new node or a
#                rollback could then no longer pull the image.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=.env
. "$root/.env" # NGINX_IMAGE (the site and its edge); the app's build images

REVISION=${REVISION:-$(git -C "$root" rev-parse --short=12 HEAD)}
SITE_DIR=${SITE_DIR:-$root/site}
STACK_DIR=${STACK_DIR:-$here}
EDGE_PORT=${EDGE_PORT:-80}
PUBLIC_URL=${PUBLIC_URL:-http://127.0.0.1:$EDGE_PORT}
STATE_DIR=${STATE_DIR:-$root/.release}
case ${1:-} in
    app-*)
        IMAGE=${IMAGE:-}
        STACK=${STACK:-loandesk} # never the site's: --prune would remove its services
        # What app-publish pushed, unless named.
        APP_IMAGE=${APP_IMAGE:-$(cat "$STATE_DIR/app-image" 2>/dev/null || true)}
        WEB_IMAGE=${WEB_IMAGE:-$(cat "$STATE_DIR/web-image" 2>/dev/null || true)} ;;
    *)
        IMAGE=${IMAGE:?set IMAGE, e.g. ghcr.io/owner/loandesk-site}
        STACK=${STACK:-loandesk-site} ;;
esac
TAG="$IMAGE:sha-$REVISION"
# Every build of ours says what it is built from (OCI labels), and with
# ATTEST=1 is pushed with its SBOM and provenance: the site's push and
# app-publish alike.
labels=(--build-arg "REVISION=$REVISION" --build-arg "SOURCE=${SOURCE_URL:-https://github.com/loandesk/loandesk}")
attested=(--push --sbom=true --provenance=mode=max)

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

# http URL [wget options]: body on stdout; headers on stderr with -S.
http() {
    local url=$1; shift
    if command -v wget >/dev/null; then
        wget -q -T 5 -O - "$@" "$url"
    else
        docker run --rm --network host --entrypoint wget "$TAG" -q -T 5 -O - "$@" "$url"
    fi
}

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

# pushed_ref IMAGE TAG METADATA: the registry's digest reference for TAG, just
# built; with ATTEST=1 buildx pushed it (METADATA names the digest), else it is
# pushed here.
pushed_ref() {
    local image=$1 tag=$2 meta=$3 ref
    if [ "${ATTEST:-0}" = 1 ]; then
        ref="$image@$(sed -n 's/.*"containerimage.digest": *"\([^"]*\)".*/\1/p' "$meta")"
    else
        docker push -q "$tag" >/dev/null || die "docker push $tag failed"
        ref=$(docker inspect -f '{{range .RepoDigests}}{{println .}}{{end}}' "$tag" | grep "^$image@" | head -1)
    fi
    case $ref in *@sha256:*) echo "$ref" ;; *) die "no digest for $tag" ;; esac
}

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

# verify_ref REF: the digest is signed by our CI workflow (keyless, Sigstore).
verify_ref() {
    : "${COSIGN_IDENTITY:?set COSIGN_IDENTITY to the signing workflow}" "${COSIGN_ISSUER:?set COSIGN_ISSUER}"
    log "verify $1 was signed by $COSIGN_IDENTITY"
    cosign verify --certificate-identity "$COSIGN_IDENTITY" --certificate-oidc-issuer "$COSIGN_ISSUER" "$1" >/dev/null \
        || die "$1 carries no valid signature from $COSIGN_IDENTITY"
    log "verify ok"
}

verify() { verify_ref "${SITE_IMAGE:-$(pushed)}"; }

svc() { echo "${STACK}_site"; }

# swarmwait ARGS…: the Swarm's verdicts, in Go (deploy/swarm/swarmwait, on
# the Engine API of DOCKER_HOST): built from this checkout (Go on PATH; an
# older Go fetches the go.mod toolchain), or the binary SWARMWAIT names.
swarmwait() {
    if [ -z "${SWARMWAIT:-}" ]; then
        command -v go >/dev/null || die "swarmwait needs Go on PATH, or SWARMWAIT naming a built deploy/swarm/swarmwait"
        SWARMWAIT=$STATE_DIR/bin/swarmwait
        (cd "$root" && CGO_ENABLED=0 go build -o "$SWARMWAIT" ./deploy/swarm/swarmwait) || die "could not build swarmwait"
    fi
    "$SWARMWAIT" "$@"
}

# await SERVICE IMAGE: until every task meant to run runs IMAGE (0), or
# Swarm rolled the update back (1, once the rollback is over, so the caller
# sees a settled service) or the new service keeps failing; 300 s at most.
await() {
    swarmwait -timeout 300s service "$1" "$2" && return 0
    docker service logs --raw --tail 5 "$1" >&2 2>&1 || true
    return 1
}

registry_login() { # IMAGE: hand the Swarm the long-lived read-only pull credential
    if [ -n "${REGISTRY_PULL_USER:-}" ]; then
        # --with-registry-auth hands the Swarm the client's login for this
        # registry: make it the long-lived read-only one.
        printf '%s' "${REGISTRY_PULL_TOKEN:?set REGISTRY_PULL_TOKEN}" |
            docker login -u "$REGISTRY_PULL_USER" --password-stdin "${1%%/*}" >/dev/null
    fi
}

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

# --- the app (deploy/swarm/app.yml) ----------------------------------------

app_stack() { # deploy app.yml with APP_IMAGE and WEB_IMAGE
    local out
    if ! out=$(cd "$here" && docker stack deploy --with-registry-auth --prune -c app.yml "$STACK" 2>&1); then
        printf '%s\n' "$out" >&2
        die "docker stack deploy failed"
    fi
}

# app-publish: each app image built ONCE and pushed by digest (with its SBOM
# and provenance when ATTEST=1); the digests go to $STATE_DIR/app-image and
# $STATE_DIR/web-image, which the later stages (scan, sign, verify, release)
# read when APP_IMAGE and WEB_IMAGE are not set.
app_publish() {
    : "${APP_REPO:?set APP_REPO, e.g. ghcr.io/owner/loandesk}" "${WEB_REPO:?set WEB_REPO, e.g. ghcr.io/owner/loandesk-web}"
    mkdir -p "$STATE_DIR"
    local name repo tag ref
    local -a how args
    for name in app web; do
        if [ "$name" = app ]; then
            repo=$APP_REPO
            args=(--target loandesk --build-arg "GO_IMAGE=$GO_IMAGE" --build-arg "RUNTIME_IMAGE=$RUNTIME_IMAGE" "$root")
        else
            repo=$WEB_REPO
            args=(-f "$root/web/Dockerfile" --build-arg "NODE_IMAGE=$NODE_IMAGE" --build-arg "NGINX_IMAGE=$NGINX_IMAGE" "$root")
        fi
        tag="$repo:sha-$REVISION"
        how=(--load)
        [ "${ATTEST:-0}" = 1 ] && how=("${attested[@]}" --metadata-file "$STATE_DIR/$name.json")
        log "build $tag"
        docker buildx build "${how[@]}" "${labels[@]}" -t "$tag" "${args[@]}"
        ref=$(pushed_ref "$repo" "$tag" "$STATE_DIR/$name.json")
        echo "$ref" >"$STATE_DIR/$name-image"
        log "pushed $ref"
    done
}

# app-migrate: the new image's migrations, as a one-off Swarm job on the
# backend network. They must work with the previous release's code (expand,
# then contract in a later release): the old tasks keep running meanwhile.
app_migrate() {
    : "${APP_IMAGE:?set APP_IMAGE to the app image by digest}"
    local job="${STACK}_migrate" restarts=5
    docker service rm "$job" >/dev/null 2>&1 || true
    log "migrate with $APP_IMAGE"
    docker service create --detach --quiet --name "$job" --mode replicated-job --restart-condition on-failure \
        --restart-max-attempts "$restarts" --restart-delay 3s --network "${STACK}_backend" \
        --secret "source=${DB_PASSWORD_SECRET:-loandesk_db_password},target=db_password" \
        --env "APP_ENV=${APP_ENV:-production}" --env "DATABASE_PASSWORD_FILE=/run/secrets/db_password" \
        --env "DATABASE_URL=${DATABASE_URL:-postgres://loandesk@postgres:5432/loandesk?sslmode=disable}" \
        --read-only --with-registry-auth "$APP_IMAGE" migrate >/dev/null
    # Done once a try completes; failed once the first try and every restart did.
    if ! swarmwait -timeout "${MIGRATE_TIMEOUT:-1800}s" job "$job"; then
        docker service logs --raw "$job" 2>&1 | tail -20 >&2
        docker service rm "$job" >/dev/null 2>&1 || true
        die "migrations did not complete"
    fi
    docker service rm "$job" >/dev/null
    log "migrate ok"
}

image_for() { # SERVICE APP WEB: the image that service runs
    if [ "$1" = web ]; then echo "$3"; else echo "$2"; fi
}

# app-deploy: exactly these digests; every service converges, or the ones
# that did go back to the images they ran before and the pipeline fails.
app_deploy() {
    : "${APP_IMAGE:?set APP_IMAGE to the app image by digest}" "${WEB_IMAGE:?set WEB_IMAGE to the web image by digest}"
    local prev_app prev_web
    prev_app=$(docker service inspect -f '{{.Spec.TaskTemplate.ContainerSpec.Image}}' "${STACK}_api" 2>/dev/null || true)
    prev_web=$(docker service inspect -f '{{.Spec.TaskTemplate.ContainerSpec.Image}}' "${STACK}_web" 2>/dev/null || true)
    log "deploy api/worker $APP_IMAGE, web $WEB_IMAGE to stack $STACK on ${DOCKER_HOST:-the local engine}"
    registry_login "$APP_IMAGE"
    app_stack
    local s failed=""
    for s in api worker web; do
        await "${STACK}_$s" "$(image_for "$s" "$APP_IMAGE" "$WEB_IMAGE")" || { failed=$s; break; }
    done
    if [ -n "$failed" ]; then
        if [ -n "$prev_app" ]; then
            log "putting the stack back on $prev_app and $prev_web"
            APP_IMAGE=$prev_app WEB_IMAGE=$prev_web app_stack
            for s in api worker web; do
                await "${STACK}_$s" "$(image_for "$s" "$prev_app" "$prev_web")" || log "$s did not settle back"
            done
        fi
        die "the update of ${STACK}_$failed failed; the stack runs the previous release"
    fi
    log "deploy ok"
}

app_verify() { # both digests carry our CI's signature
    : "${APP_IMAGE:?set APP_IMAGE or run app-publish}" "${WEB_IMAGE:?set WEB_IMAGE or run app-publish}"
    verify_ref "$APP_IMAGE"
    verify_ref "$WEB_IMAGE"
}

app_smoke() { # the SPA from web, and the API's own contract through it
    log "smoke $PUBLIC_URL"
    local ok=""
    for _ in $(seq 1 30); do
        if http "$PUBLIC_URL/" | grep -q '<div id="root">' && http "$PUBLIC_URL/api/openapi.yaml" | grep -q '^openapi:'; then
            ok=1 && break
        fi
        sleep 1
    done
    [ -n "$ok" ] || die "$PUBLIC_URL does not serve the app"
    log "smoke ok"
}

app_release() {
    if docker network inspect "${STACK}_backend" >/dev/null 2>&1; then
        app_migrate
        app_deploy
    else
        # The first release: the stack brings its database up, then the
        # schema; api tasks wait for it (they answer 503 until then).
        app_stack
        swarmwait -timeout 180s running "${STACK}_postgres" || die "postgres did not start"
        app_migrate
        app_deploy
    fi
    app_smoke
}

case ${1:-} in
    app-publish) app_publish ;;
    app-verify) app_verify ;;
    app-migrate) app_migrate ;;
    app-deploy) app_deploy ;;
    app-smoke) app_smoke ;;
    app-release) app_release ;;
    build) build ;;
    test) test_image ;;
    push) push ;;
    promote) promote ;;
    verify) verify ;;
    deploy) deploy ;;
    smoke) smoke ;;
    release) build; test_image; push; promote; deploy; smoke ;;
    *) echo "usage: $0 build|test|push|promote|verify|deploy|smoke|release|app-publish|app-verify|app-migrate|app-deploy|app-smoke|app-release" >&2; exit 2 ;;
esac
