#!/usr/bin/env bash
# make trace: where a filing's time goes, from its traces. Starts the stack
# as make bench does (its own project, no submission rate limit, providers
# answering at once) with every service exporting spans over OTLP to
# tools/tracestat, files for 10 s with 8 clients (tools/bench -only filing,
# at 100,000 rows), and prints the breakdown: each span's latency and share
# of the request's time, and the time in the API itself.
#
#   make trace                          TRACE_ARGS="-c 32 -d 20s" make trace
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tools/measure-env.sh
. tools/measure-env.sh
export COMPOSE_PROJECT_NAME=loandesk-trace WEB_PORT=${TRACE_WEB_PORT:-18095} OTEL_EXPORTER_OTLP_ENDPOINT=http://tracestat:4318
trap 'docker compose --profile bench --profile trace down -v --remove-orphans >/dev/null 2>&1' EXIT
docker compose --profile bench build bench >/dev/null
docker compose --profile trace up -d tracestat >/dev/null
docker compose up --build --wait >/dev/null 2>&1 || { docker compose logs --tail 50; exit 1; }
# shellcheck disable=SC2086 # TRACE_ARGS is words
docker compose --profile bench run --rm bench -rows 100000 -only filing -d 10s ${TRACE_ARGS:-} >&2
# The services first: stopping flushes their exporters (batches of up to
# 5 s), so no filing's spans are cut short.
docker compose stop api worker >/dev/null 2>&1
docker compose --profile trace stop -t 30 tracestat >/dev/null
docker compose --profile trace logs --no-log-prefix tracestat
