#!/usr/bin/env bash
# make site-release: the pipeline on this machine. Ensures a single-node
# Swarm and a local registry (registry:3 on 127.0.0.1:5000), then runs every
# stage: build, test, push, deploy, smoke. The first run creates the stack;
# later runs update it. Then open http://127.0.0.1:${EDGE_PORT:-8088}/.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export EDGE_PORT=${EDGE_PORT:-8088}
export IMAGE=${IMAGE:-127.0.0.1:5000/loandesk-site}
# shellcheck source=deploy/swarm/local.sh
. "$here/local.sh"
ensure_swarm
ensure_registry
use_swarmwait "$(cd "$here/../.." && pwd)/.release/bin"
exec "$here/site.sh" release
