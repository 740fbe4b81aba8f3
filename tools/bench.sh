#!/usr/bin/env bash
# make bench: starts the whole stack in a project of its own (submission rate
# limit off, providers at zero injected latency), files requests through the
# web proxy with tools/loadgen, prints the latency, and tears down.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=.env
. ./.env
export COMPOSE_PROJECT_NAME=loandesk-bench WEB_PORT=${BENCH_WEB_PORT:-18090} SUBMIT_RATE_LIMIT=0
trap 'docker compose down -v --remove-orphans >/dev/null 2>&1' EXIT
docker compose up --build --wait >/dev/null 2>&1 || { docker compose logs --tail 50; exit 1; }
docker run --rm --network host -v "$PWD:/src:ro" -v loandesk-test_gomod:/go/pkg/mod -v loandesk-test_gocache:/root/.cache/go-build \
    -e GOFLAGS=-buildvcs=false -w /src "$GO_IMAGE" \
    go run ./tools/loadgen -url "http://127.0.0.1:$WEB_PORT" -n "${BENCH_N:-3000}" -c "${BENCH_C:-8}"
