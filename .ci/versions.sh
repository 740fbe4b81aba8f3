# shellcheck shell=bash disable=SC2034 # sourced by the other .ci scripts
# The upstream images the product pins, read from the product's own pins
# (.env), and the versions of what .ci builds in their place, derived from
# them: a stand-in cannot drift from the pin it stands in for.
# shellcheck source=.env
. "$(dirname "${BASH_SOURCE[0]}")/../.env"

IMG_GOLANG=$GO_IMAGE
IMG_NODE=$NODE_IMAGE
IMG_NGINX=$NGINX_IMAGE
IMG_POSTGRES=$POSTGRES_IMAGE
IMG_DEBIAN=$DEBIAN_IMAGE
IMG_VALKEY=$VALKEY_IMAGE
IMG_DISTROLESS=$RUNTIME_IMAGE
IMG_PLAYWRIGHT=$PLAYWRIGHT_IMAGE
IMG_REGISTRY=$REGISTRY_IMAGE
IMG_DOCKER_CLI=$DOCKER_CLI_IMAGE
IMG_DOCKER_DIND=$DOCKER_DIND_IMAGE

tag() { local t=${1##*:}; echo "${t%%-*}"; } # golang:1.26.11-trixie → 1.26.11
GO_VERSION=$(tag "$GO_IMAGE")
NODE_VERSION=$(tag "$NODE_IMAGE")
PLAYWRIGHT_VERSION=$(tag "$PLAYWRIGHT_IMAGE"); PLAYWRIGHT_VERSION=${PLAYWRIGHT_VERSION#v}
DISTRIBUTION_VERSION=v$(tag "$REGISTRY_IMAGE")
NPM_VERSION=11.6.2 # the npm that Node 24 ships; only the stand-in needs it spelled out
