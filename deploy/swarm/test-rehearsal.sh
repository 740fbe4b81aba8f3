#!/usr/bin/env bash
# The proof of Part 3 (make test-site): on a local single-node Swarm with a
# local registry, release A; start a prober at 100 req/s; change index.html
# and release B; then release C, whose health check fails. Asserts B replaces
# A, Swarm rolls C back, B keeps being served, C never is, the pipeline fails
# for C, and the prober saw zero failed requests. Prints the numbers. Cleans
# up after itself; every wait is bounded.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=deploy/swarm/local.sh
. "$here/local.sh"

export STACK=loandesk-site-test EDGE_PORT=${TEST_EDGE_PORT:-18088} IMAGE=127.0.0.1:5000/loandesk-site-test
url="http://127.0.0.1:$EDGE_PORT"
work=$(mktemp -d)
export STATE_DIR=$work/state
say() { printf 'site-test: %s\n' "$*"; }
fail() { say "FAILED: $*"; exit 1; }

cleanup() {
    touch "$work/out/stop" 2>/dev/null || true
    docker rm -f loandesk-prober >/dev/null 2>&1 || true
    docker stack rm "$STACK" >/dev/null 2>&1 || true
    for _ in $(seq 1 30); do
        [ -z "$(docker ps -q --filter "label=com.docker.stack.namespace=$STACK")" ] && break
        sleep 1
    done
    docker network rm "${STACK}_site" >/dev/null 2>&1 || true
    docker images -q "$IMAGE" | sort -u | xargs -r docker rmi -f >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

version() { # what the edge serves now
    (exec 3<>"/dev/tcp/127.0.0.1/$EDGE_PORT" && printf 'GET /version HTTP/1.0\r\nHost: x\r\n\r\n' >&3 && tail -n 1 <&3) 2>/dev/null || true
}

ensure_swarm
ensure_registry
use_swarmwait "$work/bin"
docker stack rm "$STACK" >/dev/null 2>&1 || true
cp -r "$root/site" "$work/site"
export SITE_DIR=$work/site
ts=$(date +%s)
A=rehearsal-a-$ts B=rehearsal-b-$ts C=rehearsal-c-$ts

say "release A"
REVISION=$A "$here/site.sh" release
[ "$(version)" = "{\"release\":\"$A\"}" ] || fail "A is not served"

say "starting the prober (100 req/s)"
out=$work/out
mkdir -p "$out"
phase "$out/phase" a
# The verdict is the prober's: no failed request in any phase, only these
# releases answering in each (C never), 1,000 requests at least.
tool_start loandesk-prober "$out" probe.csv prober -url "$url/" -rate 100 -max 600s -stop /out/stop -out /out/probe.csv \
    -phases /out/phase -max-failed 0 -min-requests 1000 \
    -allow "a=$A" -allow "b=$A|$B" -allow "b-done=$B" -allow "c-refused=$B" -allow "c=$B" -allow "c-done=$B" ||
    fail "the prober did not start"
sleep 2

say "release B: index.html changes"
echo '<p>Release B.</p>' >>"$work/site/index.html"
phase "$out/phase" b
REVISION=$B "$here/site.sh" release
phase "$out/phase" b-done
[ "$(version)" = "{\"release\":\"$B\"}" ] || fail "B is not served"
sleep 3

say "release C: its health check fails"
sed -i 's|return 200 "ok\\n";|return 503 "broken\\n";|' "$work/site/nginx.conf"
grep -q 'return 503' "$work/site/nginx.conf" || fail "could not break release C"
phase "$out/phase" c-refused
if REVISION=$C "$here/site.sh" release; then
    fail "the pipeline accepted release C"
fi
say "the pipeline stopped C at its image test; now C is forced past it, as a defect the test cannot see would be"
phase "$out/phase" c
if REVISION=$C "$here/site.sh" build && REVISION=$C "$here/site.sh" push && REVISION=$C "$here/site.sh" deploy; then
    fail "the deploy of release C succeeded"
fi
phase "$out/phase" c-done
state=$(docker service inspect -f '{{.UpdateStatus.State}}' "${STACK}_site")
[ "$state" = rollback_completed ] || fail "Swarm did not roll back (update state: $state)"
[ "$(version)" = "{\"release\":\"$B\"}" ] || fail "B is not served after the rollback"
sleep 3

# Phase b's line says when B first answered; c's, that only B answered.
tool_verdict loandesk-prober "$out/stop" 30 || fail "the prober saw failures, a release where it must not be, or too few requests"
say "ok: zero failed requests; B replaced A; C rolled back; the pipeline failed for C"
