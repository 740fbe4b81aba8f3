# shellcheck shell=bash
# Helpers for running the pipeline on this machine (sourced): a single-node
# Swarm and a local registry, as a cloud setup would have a Swarm and GHCR.
# shellcheck source=.env
. "$(dirname "${BASH_SOURCE[0]}")/../../.env"

ensure_swarm() {
    if [ "$(docker info --format '{{.Swarm.LocalNodeState}}')" != active ]; then
        echo "creating a single-node Swarm" >&2
        docker swarm init --advertise-addr 127.0.0.1 >/dev/null
    fi
}

ensure_registry() {
    if [ -z "$(docker ps -q --filter name=^loandesk-registry$)" ]; then
        echo "starting a local registry on 127.0.0.1:5000" >&2
        docker rm -f loandesk-registry >/dev/null 2>&1 || true
        docker run -d --name loandesk-registry --restart unless-stopped -p 127.0.0.1:5000:5000 "$REGISTRY_IMAGE" >/dev/null
    fi
    # bash's /dev/tcp: no client tool needed on the host.
    for _ in $(seq 1 40); do (exec 3<>/dev/tcp/127.0.0.1/5000) 2>/dev/null && return 0; sleep 0.5; done
    echo "the local registry did not answer" >&2
    return 1
}

# use_swarmwait DIR: lib.sh's swarmwait, the rehearsal's pgwait, testcerts and pitrcheck, built
# static in the Go image (this machine needs only Docker) into DIR; named by SWARMWAIT, PGWAIT, ….
use_swarmwait() {
    local src
    src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
    mkdir -p "$1"
    docker run --rm -v "$src:/src:ro" -v "$1:/out" -v loandesk-test_gomod:/go/pkg/mod -v loandesk-test_gocache:/root/.cache/go-build \
        -e GOFLAGS=-buildvcs=false -e CGO_ENABLED=0 -w /src "$GO_IMAGE" go build -o /out/ ./deploy/swarm/swarmwait ./deploy/swarm/pgwait ./deploy/swarm/testcerts ./deploy/swarm/pitrcheck
    export SWARMWAIT=$1/swarmwait PGWAIT=$1/pgwait TESTCERTS=$1/testcerts PITRCHECK=$1/pitrcheck
}

# phase FILE NAME: the rehearsal's phase is NAME from now on (FILE, renamed into place: never
# half-written); the prober or the loader tallies every request under it.
phase() {
    printf '%s\n' "$2" >"$1.tmp" && mv -f "$1.tmp" "$1"
}

# tool_start NAME DIR CSV TOOL ARGS…: deploy/swarm/TOOL (prober, loader)
# built and run in the Go image on the host's network, DIR mounted as /out;
# returns once it has written DIR/CSV (up to 120 s: a cold build).
tool_start() {
    local name=$1 dir=$2 csv=$3 tool=$4 src
    shift 4
    src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
    docker rm -f "$name" >/dev/null 2>&1 || true
    docker run -d --name "$name" --network host -v "$src:/src:ro" -v "$dir:/out" \
        -v loandesk-test_gomod:/go/pkg/mod -v loandesk-test_gocache:/root/.cache/go-build -e GOFLAGS=-buildvcs=false -w /src \
        "$GO_IMAGE" sh -c 'go build -o "/tmp/$0" "./deploy/swarm/$0" && exec "/tmp/$0" "$@"' "$tool" "$@" >/dev/null
    for _ in $(seq 1 120); do
        [ -s "$dir/$csv" ] && return 0
        [ -n "$(docker ps -q --filter "name=^$name$")" ] ||
            { docker logs "$name" >&2; echo "$tool exited before its first request" >&2; return 1; }
        sleep 1
    done
    echo "$tool did not start within 120 s" >&2
    return 1
}

# tool_verdict NAME STOPFILE [SECONDS]: stops the tool, prints its tally, returns its verdict.
tool_verdict() {
    local name=$1 code
    touch "$2"
    code=$(timeout "${3:-60}" docker wait "$name") || code="none: still running after ${3:-60} s"
    docker logs "$name" 2>&1 | grep -v '^go: downloading' | tail -n 25
    [ "$code" = 0 ]
}
