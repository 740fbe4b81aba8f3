#!/usr/bin/env bash
# make test-chaos: starts the compose stack (two api replicas, two workers),
# runs the chaos suite against it (tools/chaos: abuse, then filings under
# crashes and outages, then a search of every log), and tears it down. The
# verdicts are the suite's; this script only orchestrates.
set -euo pipefail
cd "$(dirname "$0")/../.."

# The test project: it shares the Go caches with `make test-go`.
export COMPOSE_PROJECT_NAME=${CHAOS_PROJECT:-loandesk-test}
dc() { docker compose -f compose.yaml -f tools/chaos/compose.yaml "$@"; }

mkdir -p tools/chaos/results
cleanup() {
    status=$?
    if [ "$status" -ne 0 ]; then
        dc logs --no-color >tools/chaos/results/compose.log 2>&1 || true
        echo "chaos failed: every service's log is in tools/chaos/results/compose.log" >&2
    fi
    dc --profile test down --remove-orphans >/dev/null 2>&1 || true
    docker volume rm -f "${COMPOSE_PROJECT_NAME}_pgdata" "${COMPOSE_PROJECT_NAME}_valkeydata" >/dev/null 2>&1 || true
    exit "$status"
}
trap cleanup EXIT

dc build
start=$(date +%s)
dc up --wait
echo "chaos: stack healthy in $(( $(date +%s) - start )) s"
dc --profile test run --rm chaos
echo "chaos: suite took $(( $(date +%s) - start )) s in all"
