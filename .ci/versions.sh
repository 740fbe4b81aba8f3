# shellcheck shell=bash disable=SC2034 # sourced by the other .ci scripts
# The upstream images the product pins, and what .ci builds in their place.
# Keep in step with the ARG defaults in the Dockerfiles and compose.yaml.
GO_VERSION=1.26.8
NODE_VERSION=24.9.0
NPM_VERSION=11.6.2
PLAYWRIGHT_VERSION=1.64.1
DISTRIBUTION_VERSION=v3.0.0

IMG_GOLANG="golang:${GO_VERSION}-trixie"
IMG_NODE="node:${NODE_VERSION}-trixie-slim"
IMG_NGINX="nginxinc/nginx-unprivileged:1.28.0-alpine"
IMG_POSTGRES="postgres:17.12-trixie"
IMG_VALKEY="valkey/valkey:8.1.4-trixie"
IMG_DISTROLESS="gcr.io/distroless/static-debian13:nonroot"
IMG_PLAYWRIGHT="mcr.microsoft.com/playwright:v${PLAYWRIGHT_VERSION}-noble"
IMG_REGISTRY="registry:3.0.0"
