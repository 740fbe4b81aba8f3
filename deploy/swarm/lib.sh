# shellcheck shell=bash
# What site.sh and app.sh share (sourced): labels, logging, the digest of a push, signature
# checks, the Swarm's pull credential, and the wait on the Swarm (swarmwait): every task runs
# the new digest, or Swarm rolled the update back and the pipeline fails.
# Environment: docs/swarm.md#the-pipelines-environment.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=.env
. "$root/.env" # the pinned images: NGINX_IMAGE (the site, its edge, web), the app's build images

REVISION=${REVISION:-$(git -C "$root" rev-parse --short=12 HEAD)}
EDGE_PORT=${EDGE_PORT:-80}
PUBLIC_URL=${PUBLIC_URL:-http://127.0.0.1:$EDGE_PORT}
STATE_DIR=${STATE_DIR:-$root/.release}
# Every build of ours says what it is built from (OCI labels); ATTEST=1 adds SBOM and provenance.
# shellcheck disable=SC2034 # site.sh's and app.sh's
labels=(--build-arg "REVISION=$REVISION" --build-arg "SOURCE=${SOURCE_URL:-https://github.com/loandesk/loandesk}")
# shellcheck disable=SC2034
attested=(--push --sbom=true --provenance=mode=max)

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

# http URL [wget options]: body on stdout; headers on stderr with -S. Without
# wget here, the wget of PROBE_IMAGE (an image of the release).
http() {
    local url=$1; shift
    if command -v wget >/dev/null; then
        wget -q -T 5 -O - "$@" "$url"
    else
        docker run --rm --network host --entrypoint wget "$PROBE_IMAGE" -q -T 5 -O - "$@" "$url"
    fi
}

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

# verify_ref REF: the digest is signed by our CI workflow (keyless, Sigstore).
verify_ref() {
    : "${COSIGN_IDENTITY:?set COSIGN_IDENTITY to the signing workflow}" "${COSIGN_ISSUER:?set COSIGN_ISSUER}"
    log "verify $1 was signed by $COSIGN_IDENTITY"
    cosign verify --certificate-identity "$COSIGN_IDENTITY" --certificate-oidc-issuer "$COSIGN_ISSUER" "$1" >/dev/null \
        || die "$1 carries no valid signature from $COSIGN_IDENTITY"
    log "verify ok"
}

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
