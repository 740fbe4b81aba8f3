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
now_ms() { date +%s%3N; }
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
docker stack rm "$STACK" >/dev/null 2>&1 || true
cp -r "$root/site" "$work/site"
export SITE_DIR=$work/site
ts=$(date +%s)

say "release A"
REVISION=rehearsal-a-$ts "$here/pipeline.sh" release
[ "$(version)" = "{\"release\":\"rehearsal-a-$ts\"}" ] || fail "A is not served"

say "starting the prober (100 req/s)"
mkdir -p "$work/out"
docker run -d --name loandesk-prober --network host -v "$root:/src:ro" -v "$work/out:/out" \
    -v loandesk-test_gomod:/go/pkg/mod -v loandesk-test_gocache:/root/.cache/go-build -e GOFLAGS=-buildvcs=false -w /src \
    "$GO_IMAGE" sh -c "go build -o /tmp/prober ./deploy/swarm/prober && /tmp/prober -url $url/ -rate 100 -max 600s -stop /out/stop -out /out/probe.csv" >/dev/null
for _ in $(seq 1 120); do
    [ -s "$work/out/probe.csv" ] && break
    [ -n "$(docker ps -q --filter name=^loandesk-prober$)" ] || { docker logs loandesk-prober; fail "the prober exited"; }
    sleep 1
done
[ -s "$work/out/probe.csv" ] || fail "the prober did not start within 120 s"
sleep 2

say "release B: index.html changes"
echo '<p>Release B.</p>' >>"$work/site/index.html"
b_start=$(now_ms)
REVISION=rehearsal-b-$ts "$here/pipeline.sh" release
b_done=$(now_ms)
[ "$(version)" = "{\"release\":\"rehearsal-b-$ts\"}" ] || fail "B is not served"
sleep 3

say "release C: its health check fails"
sed -i 's|return 200 "ok\\n";|return 503 "broken\\n";|' "$work/site/nginx.conf"
grep -q 'return 503' "$work/site/nginx.conf" || fail "could not break release C"
if REVISION=rehearsal-c-$ts "$here/pipeline.sh" release; then
    fail "the pipeline accepted release C"
fi
say "the pipeline stopped C at its image test; now C is forced past it, as a defect the test cannot see would be"
c_start=$(now_ms)
if REVISION=rehearsal-c-$ts "$here/pipeline.sh" build && REVISION=rehearsal-c-$ts "$here/pipeline.sh" push \
    && REVISION=rehearsal-c-$ts "$here/pipeline.sh" deploy; then
    fail "the deploy of release C succeeded"
fi
c_done=$(now_ms)
state=$(docker service inspect -f '{{.UpdateStatus.State}}' "${STACK}_site")
[ "$state" = rollback_completed ] || fail "Swarm did not roll back (update state: $state)"
[ "$(version)" = "{\"release\":\"rehearsal-b-$ts\"}" ] || fail "B is not served after the rollback"
sleep 3

touch "$work/out/stop" # the prober's -stop file, as it sees it: /out/stop
for _ in $(seq 1 30); do
    [ -z "$(docker ps -q --filter name=^loandesk-prober$)" ] && break
    sleep 1
done
# Reading the results while the prober still writes would cut its last line.
[ -z "$(docker ps -q --filter name=^loandesk-prober$)" ] || fail "the prober did not stop within 30 s"
docker logs loandesk-prober 2>&1 | tail -1
csv=$work/out/probe.csv
awk -F, -v b0="$b_start" -v b1="$b_done" -v c0="$c_start" -v c1="$c_done" -v a="rehearsal-a-$ts" -v b="rehearsal-b-$ts" -v c="rehearsal-c-$ts" '
    { n++ }
    $2 != 200 || $4 != "" { failed++; if (failed <= 5) print "  failed:", $0 }
    $1 >= b0 && $1 <= b1 { inB++ }
    $1 >= c0 && $1 <= c1 { inC++ }
    $3 == b && firstB == "" { firstB = $1 }
    $3 == a && $1 > b1 { aAfter++ }
    $3 == c { cServed++ }
    END {
        printf "site-test: %d requests in all, %d failed\n", n, failed
        printf "site-test: index.html changed -> release B served: %.1f s (pipeline done after %.1f s); %d requests during the update\n", (firstB - b0) / 1000, (b1 - b0) / 1000, inB
        printf "site-test: release C deploy -> rolled back: %.1f s; %d requests meanwhile; C served %d times\n", (c1 - c0) / 1000, inC, cServed
        printf "site-test: A served %d times after B was released\n", aAfter
        exit (failed > 0 || firstB == "" || aAfter > 0 || cServed > 0 || n < 1000) ? 1 : 0
    }' "$csv" || fail "the prober saw failures, a stale release, or too few requests"
say "ok: zero failed requests; B replaced A; C rolled back; the pipeline failed for C"
