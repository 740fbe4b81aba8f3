#!/usr/bin/env bash
# End-to-end: builds and starts the whole stack with compose, checks the containers, then drives
# Chromium through the flows in phases, changing the stack between them. Tears all down (volumes too).
set -euo pipefail
cd "$(dirname "$0")/.."

# A project of its own, so a developer's running stack is left alone.
export COMPOSE_PROJECT_NAME=${E2E_PROJECT:-loandesk-e2e}
export WEB_PORT=${E2E_WEB_PORT:-18080}
dc() { docker compose "$@"; }

rm -rf e2e/results/state.json e2e/results/report e2e/results/artifacts && mkdir -p e2e/results
cleanup() {
    status=$?
    if [ "$status" -ne 0 ]; then
        dc logs --no-color >e2e/results/compose.log 2>&1 || true
        echo "e2e failed: logs in e2e/results/compose.log, report in e2e/results/report" >&2
    fi
    dc --profile test down -v --remove-orphans >/dev/null 2>&1 || true
    exit "$status"
}
trap cleanup EXIT

dc --profile test build
start=$(date +%s)
dc up --wait
echo "e2e: stack healthy $(( $(date +%s) - start )) s after 'docker compose up' (images built)"
bash e2e/check-containers.sh

# The README's command for reviewers' own accounts; @main logs in with the passwords it printed.
export REVIEWER_PASSWORD MFA_PASSWORD; REVIEWER_PASSWORD=$(dc exec -T api loandesk admin add e2e-reviewer@example.com | tail -n 1); MFA_PASSWORD=$(dc exec -T api loandesk admin add e2e-mfa@example.com | tail -n 1)
phase() { echo "e2e: phase $1"; dc --profile test run --rm e2e --grep "@$1"; }
phase main
dc stop scoring
phase outage
dc start scoring
phase recovery
phase a11y
dc restart postgres valkey
dc up --wait
phase persistence
echo "e2e: all phases passed"
