#!/usr/bin/env bash
# make bench: starts the whole stack in a project of its own (submission
# rate limit off, providers at zero injected latency, PostgreSQL with the
# memory of production's db.t4g.medium), then runs tools/bench in a
# container on its networks: it seeds the table to each size and measures
# every path through the API and under pgbench. Prints one table
# (Markdown, for docs/performance.md); the progress goes to stderr.
#
#   make bench                        100,000 and 10,000,000 rows (~60 min)
#   BENCH_ARGS="-rows 100000 -d 5s" make bench
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tools/measure-env.sh
. tools/measure-env.sh
export COMPOSE_PROJECT_NAME=loandesk-bench WEB_PORT=${BENCH_WEB_PORT:-18090}
trap 'docker compose --profile bench down -v --remove-orphans >/dev/null 2>&1' EXIT
docker compose up --build --wait >/dev/null 2>&1 || { docker compose logs --tail 50; exit 1; }
docker compose --profile bench build bench >/dev/null
# shellcheck disable=SC2086 # BENCH_ARGS is words
docker compose --profile bench run --rm bench ${BENCH_ARGS:-}
