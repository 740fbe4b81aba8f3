#!/usr/bin/env bash
# Renders docs/architecture.{dot,png,svg} from deploy/aws/diagram, or with
# --check fails if the committed files differ from a fresh rendering.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = --check ]; then
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    (cd deploy/aws && go run ./cmd/diagram -out "$tmp")
    stale=0
    for f in architecture.dot architecture.png architecture.svg; do
        if ! cmp -s "$tmp/$f" "docs/$f"; then
            echo "docs/$f is stale: run 'make diagram' and commit it" >&2
            stale=1
        fi
    done
    [ "$stale" -eq 0 ] && echo "diagram: docs/architecture.* are up to date"
    exit "$stale"
fi
(cd deploy/aws && go run ./cmd/diagram -out ../../docs)
chown --reference=. docs/architecture.dot docs/architecture.png docs/architecture.svg
