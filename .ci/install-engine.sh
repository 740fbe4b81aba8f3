#!/usr/bin/env bash
# Installs and starts a Docker engine, Compose v2 and buildx on this offline
# Debian machine, unless they are already there. Idempotent.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=.ci/lib.sh
. "$here/lib.sh"

COMPOSE_VERSION=v2.40.3
BUILDX_VERSION=v0.38.2
PLUGINS=/usr/local/lib/docker/cli-plugins

if ! command -v dockerd >/dev/null; then
    log "installing docker.io, debootstrap, shellcheck"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io debootstrap shellcheck >/dev/null
fi
for tool in debootstrap shellcheck; do
    command -v "$tool" >/dev/null || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$tool" >/dev/null; }
done

if ! docker info >/dev/null 2>&1; then
    log "starting dockerd"
    setsid nohup dockerd >/var/log/dockerd.log 2>&1 < /dev/null &
    for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
    docker info >/dev/null 2>&1 || { tail -20 /var/log/dockerd.log; echo "dockerd did not start" >&2; exit 1; }
fi

mkdir -p "$PLUGINS"
export GOFLAGS=-buildvcs=false
if ! docker buildx version 2>/dev/null | grep -q "$BUILDX_VERSION"; then
    log "building buildx $BUILDX_VERSION from the Go module proxy"
    GOBIN="$CI_CACHE/bin" go install -ldflags "-X github.com/docker/buildx/version.Version=$BUILDX_VERSION" \
        "github.com/docker/buildx/cmd/buildx@$BUILDX_VERSION"
    install -m 0755 "$CI_CACHE/bin/buildx" "$PLUGINS/docker-buildx"
fi
if ! docker compose version 2>/dev/null | grep -q "$COMPOSE_VERSION"; then
    log "building compose $COMPOSE_VERSION from the Go module proxy (about 4 minutes)"
    # Plain `go install` is refused for compose's exclude directives; build in
    # a writable copy of the module instead.
    dir=$(cd "$CI_CACHE" && go mod download -json "github.com/docker/compose/v2@$COMPOSE_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
    rm -rf "$CI_CACHE/compose-src" && cp -r "$dir" "$CI_CACHE/compose-src" && chmod -R u+w "$CI_CACHE/compose-src"
    (cd "$CI_CACHE/compose-src" && go build -trimpath \
        -ldflags "-X github.com/docker/compose/v2/internal.Version=$COMPOSE_VERSION" -o "$PLUGINS/docker-compose" ./cmd)
fi
docker version --format '   engine {{.Server.Version}}, client {{.Client.Version}}'
docker compose version | sed 's/^/   /'
docker buildx version | sed 's/^/   /'
