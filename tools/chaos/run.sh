#!/usr/bin/env bash
# make test-chaos: the compose stack (two api replicas, two workers, the ops profile) with every span
# exported to a sink, and the chaos suite against it in four phases (tools/chaos): the soak at the
# production limits beside a CPU hog; the faults, with the per-client limits raised for one busy
# client; the alerts (to the suite's webhook); the scan of every log and span for personal data.
# Tears it down. The verdicts are the suite's; this script only orchestrates and times.
set -euo pipefail
cd "$(dirname "$0")/../.."

# The test project: it shares the Go caches with `make test-go`.
export COMPOSE_PROJECT_NAME=${CHAOS_PROJECT:-loandesk-test}
export OTEL_EXPORTER_OTLP_ENDPOINT=http://tracestat:4318
dc() { docker compose -f compose.yaml -f tools/chaos/compose.yaml "$@"; }
suite() { dc --profile test run --rm --use-aliases chaos go run ./tools/chaos -project="$COMPOSE_PROJECT_NAME" \
    -database="postgres://loandesk@postgres:5432/loandesk?sslmode=disable" \
    -database-password-file=/run/secrets/db_password -admin-password-file=/run/secrets/admin_password "$@"; }
elapsed() { echo "$(( $(date +%s) - $1 )) s"; }

mkdir -p tools/chaos/results
rm -f tools/chaos/results/used-*.json
cleanup() {
    status=$?
    if [ "$status" -ne 0 ]; then
        dc logs --no-color >tools/chaos/results/compose.log 2>&1 || true
        echo "chaos failed: every service's log is in tools/chaos/results/compose.log" >&2
    fi
    dc --profile test --profile trace --profile soak --profile ops down --remove-orphans >/dev/null 2>&1 || true
    docker volume rm -f "${COMPOSE_PROJECT_NAME}"_{pgdata,valkeydata,promdata,alertdata} >/dev/null 2>&1 || true
    exit "$status"
}
trap cleanup EXIT

start=$(date +%s)
dc --profile ops build
dc --profile bench build bench # tracestat's image
dc --profile trace up -d --wait tracestat # first: no span is exported before it listens
dc --profile ops up --wait # Prometheus from the start: the alerts phase needs its history
echo "chaos: stack healthy in $(elapsed "$start")"

t=$(date +%s)
dc --profile soak up -d hog
suite -phase soak
dc --profile soak rm -sf hog >/dev/null && echo "chaos: soak $(elapsed "$t")"

# One client filing 20 a second: the per-client limits raised for it (the
# soak proved them at their defaults). Only api and web change.
t=$(date +%s)
CHAOS_SUBMIT_RATE_LIMIT=100000 CHAOS_MAX_IN_FLIGHT_PER_CLIENT=128 CHAOS_WEB_FILINGS_PER_MINUTE=100000 CHAOS_WEB_REQUESTS_PER_SECOND=5000 \
    dc up -d --wait --no-deps api web
suite -phase faults
echo "chaos: faults $(elapsed "$t")"
t=$(date +%s) && suite -phase alerts && echo "chaos: alerts $(elapsed "$t")"

# Stopping the services flushes their exporters; then everything they
# logged and exported is read.
t=$(date +%s)
dc stop api worker >/dev/null
suite -phase scan
echo "chaos: scan $(elapsed "$t"); suite $(elapsed "$start") in all"
