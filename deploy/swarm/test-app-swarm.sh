#!/usr/bin/env bash
# make test-swarm: the app on a real three-node Swarm, rehearsed under load.
#
# Three Docker engines in containers (the pinned docker:dind, or its CI
# stand-in) form a Swarm of three managers on a private network, with a
# registry and a load balancer (nginx, on 127.0.0.1 only) in front of the
# three nodes' web ports, retrying the next node on a connection error (POSTs
# too: every filing carries an Idempotency-Key). A loader files requests and
# loads pages throughout, while:
#   a) release B of api, worker and web rolls out (migrations first, as a job);
#   b) release C, whose api never starts listening, is deployed: Swarm rolls
#      it back and the pipeline fails; it is then put back to B;
#   c) a node without data is killed; its tasks come back on the others;
#   d) it returns and rejoins; the managers kept quorum meanwhile;
#   e) Part 3's site runs on the same three nodes: an index.html change and an
#      edge.conf change each roll out under a prober at 50 requests/s.
# The loader and the prober give the verdict (deploy/swarm/phase): every
# request is tallied under the phase the script names; 0 failed requests in
# every phase, c) included; 0 filings lost, every filing decided; on the
# site, only the releases each phase allows. Prints every phase and duration.
# The engines' image stores stay in volumes (warm runs pull nothing); the
# Swarm and the stack are removed at the end.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=deploy/swarm/local.sh
. "$here/local.sh" # .env; phase, tool_start, tool_verdict

NET=loandesk-swarm
SUBNET=192.168.239.0/24
REG_IP=192.168.239.2 LB_IP=192.168.239.3
NODES=(node1 node2 node3)
declare -A IP=([node1]=192.168.239.11 [node2]=192.168.239.12 [node3]=192.168.239.13)
LB_PORT=${TEST_SWARM_PORT:-18090}
LB_SITE_PORT=${TEST_SWARM_SITE_PORT:-18091}
REG_PORT=${TEST_SWARM_REGISTRY_PORT:-15001}
STACK=loandesk
work=$(mktemp -d)

say() { printf 'swarm-test: %s\n' "$*"; }
fail() { say "FAILED: $*"; exit 1; }
now_ms() { date +%s%3N; }
on() { local n=$1; shift; docker -H "tcp://${IP[$n]}:2375" "$@"; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1000 }'; }

# The stack, and the data it left on node1 (a new run makes new secrets).
forget_data() {
    on node1 stack rm "$STACK" >/dev/null 2>&1 || true
    local n
    for n in "${NODES[@]}"; do
        on "$n" ps -aq --filter "label=com.docker.stack.namespace=$STACK" 2>/dev/null | xargs -r docker -H "tcp://${IP[$n]}:2375" rm -f >/dev/null 2>&1 || true
    done
    on node1 volume rm -f "${STACK}_pgdata" "${STACK}_valkeydata" >/dev/null 2>&1 || true
}

cleanup() {
    status=$?
    touch "$work/stop" 2>/dev/null || true
    if [ "$status" -ne 0 ]; then
        mkdir -p "$root/deploy/swarm/results"
        for n in "${NODES[@]}"; do
            on "$n" service ls >"$root/deploy/swarm/results/services-$n.txt" 2>&1 || true
            for s in api worker web postgres; do
                on "$n" service ps --no-trunc "${STACK}_$s" >>"$root/deploy/swarm/results/tasks-$n.txt" 2>&1 || true
            done
        done
        docker logs loandesk-swarm-lb >"$root/deploy/swarm/results/lb.log" 2>&1 || true
        cp "$work"/*.csv "$root/deploy/swarm/results/" 2>/dev/null || true
        say "logs in deploy/swarm/results/"
    fi
    docker rm -f loandesk-swarm-loader loandesk-swarm-prober >/dev/null 2>&1 || true
    on node1 stack rm loandesk-site >/dev/null 2>&1 || true
    forget_data
    for n in "${NODES[@]}"; do on "$n" swarm leave --force >/dev/null 2>&1 || true; done
    docker rm -f loandesk-swarm-lb loandesk-swarm-registry "${NODES[@]/#/loandesk-swarm-}" >/dev/null 2>&1 || true
    docker network rm "$NET" >/dev/null 2>&1 || true
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT

# --- the cluster -----------------------------------------------------------
start=$(now_ms)
docker rm -f loandesk-swarm-lb loandesk-swarm-registry "${NODES[@]/#/loandesk-swarm-}" >/dev/null 2>&1 || true
docker network rm "$NET" >/dev/null 2>&1 || true
docker network create --subnet "$SUBNET" "$NET" >/dev/null
docker run -d --name loandesk-swarm-registry --network "$NET" --ip "$REG_IP" --network-alias registry \
    -p "127.0.0.1:$REG_PORT:5000" -v loandesk-swarm-registry:/var/lib/registry "$REGISTRY_IMAGE" >/dev/null
# What --privileged would give, minus CAP_SYS_RESOURCE (outside this
# machine's bounding set: --privileged itself fails here).
for n in "${NODES[@]}"; do
    docker run -d --name "loandesk-swarm-$n" --hostname "$n" --network "$NET" --ip "${IP[$n]}" \
        --cap-add ALL --cap-drop SYS_RESOURCE --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
        --security-opt systempaths=unconfined --device-cgroup-rule 'a *:* rwm' -v /sys/fs/cgroup:/sys/fs/cgroup:rw \
        -v "loandesk-swarm-$n:/var/lib/docker" -e DOCKER_TLS_CERTDIR= \
        "$DOCKER_DIND_IMAGE" --insecure-registry registry:5000 >/dev/null
done
for n in "${NODES[@]}"; do
    for _ in $(seq 1 60); do on "$n" info >/dev/null 2>&1 && break; sleep 0.5; done
    on "$n" info >/dev/null 2>&1 || { docker logs "loandesk-swarm-$n" | tail -20; fail "the engine on $n did not start"; }
done
# A previous run's, if it died: its stack, data and Swarm.
forget_data
for n in "${NODES[@]}"; do on "$n" swarm leave --force >/dev/null 2>&1 || true; done
on node1 swarm init --advertise-addr "${IP[node1]}" >/dev/null
token=$(on node1 swarm join-token -q manager)
for n in node2 node3; do on "$n" swarm join --token "$token" "${IP[node1]}:2377" >/dev/null; done
on node1 node update --label-add loandesk.data=true node1 >/dev/null
for n in "${NODES[@]}"; do on node1 node update --label-add "zone=$n" "$n" >/dev/null; done
say "three managers up in $(secs "$start" "$(now_ms)") s: $(on node1 node ls --format '{{.Hostname}}:{{.ManagerStatus}}' | tr '\n' ' ')"

# --- images: built once, pushed, named by digest ---------------------------
# push IMAGE NAME: the registry's digest reference for the nodes.
push() {
    local local_ref="127.0.0.1:$REG_PORT/$2"
    docker tag "$1" "$local_ref" && docker push -q "$local_ref" >/dev/null
    echo "registry:5000/$2@$(docker inspect -f '{{index .RepoDigests 0}}' "$local_ref" | sed 's/.*@//')"
}
build_release() { # REVISION: the app, worker and web images of one release
    docker build -q --build-arg "GO_IMAGE=$GO_IMAGE" --build-arg "RUNTIME_IMAGE=$RUNTIME_IMAGE" --build-arg "REVISION=$1" \
        --target loandesk -t "loandesk/loandesk:$1" "$root" >/dev/null
    docker build -q --build-arg "NODE_IMAGE=$NODE_IMAGE" --build-arg "NGINX_IMAGE=$NGINX_IMAGE" --build-arg "REVISION=$1" \
        -f "$root/web/Dockerfile" -t "loandesk/web:$1" "$root" >/dev/null
}
t0=$(now_ms)
# Release A is the code from before the newest migration was added, so B's
# migrations run under A's code, as in production (expand now, contract
# later): the load then shows whether A still works on B's schema.
prev=$(git -C "$root" log --diff-filter=A -1 --format=%H -- internal/postgres/migrations 2>/dev/null || true)
{ [ -n "$prev" ] && git -C "$root" cat-file -e "$prev^" 2>/dev/null; } ||
    fail "make test-swarm needs the git history to build the previous release (a full clone; in CI: fetch-depth 0)"
mkdir -p "$work/prev" && git -C "$root" archive "$prev^" | tar -x -C "$work/prev"
build_release "swarm-a"
docker build -q --build-arg "GO_IMAGE=$GO_IMAGE" --build-arg "RUNTIME_IMAGE=$RUNTIME_IMAGE" --build-arg "REVISION=swarm-a" \
    --target loandesk -t "loandesk/loandesk:swarm-a" "$work/prev" >/dev/null
say "release A: the code of $(git -C "$root" log -1 --format='%h (%ad)' --date=short "$prev^"), before migration $(git -C "$root" show --format= --name-only --diff-filter=A "$prev" -- internal/postgres/migrations | head -1 | xargs -r basename)"
for t in scoring identity; do
    docker build -q --build-arg "GO_IMAGE=$GO_IMAGE" --build-arg "RUNTIME_IMAGE=$RUNTIME_IMAGE" --target "$t" -t "loandesk/$t:swarm" "$root" >/dev/null
done
export SCORING_IMAGE IDENTITY_IMAGE
SCORING_IMAGE=$(push loandesk/scoring:swarm loandesk/scoring)
IDENTITY_IMAGE=$(push loandesk/identity:swarm loandesk/identity)
POSTGRES_IMAGE=$(push "$POSTGRES_IMAGE" postgres)
VALKEY_IMAGE=$(push "$VALKEY_IMAGE" valkey)
A_APP=$(push loandesk/loandesk:swarm-a loandesk/loandesk)
A_WEB=$(push loandesk/web:swarm-a loandesk/web)
say "images built and pushed in $(secs "$t0" "$(now_ms)") s"

# Secrets: made here, never written to the repository.
for s in db_password admin_password session_key; do
    head -c 33 /dev/urandom | base64 | tr -d '/+=' | on node1 secret create "loandesk_$s" - >/dev/null
done

# --- the load balancer: what a cloud one does, on 127.0.0.1 ------------------
cat >"$work/lb.conf" <<CONF
upstream nodes {
    server ${IP[node1]}:8080 max_fails=1 fail_timeout=5s;
    server ${IP[node2]}:8080 max_fails=1 fail_timeout=5s;
    server ${IP[node3]}:8080 max_fails=1 fail_timeout=5s;
}
upstream site {
    server ${IP[node1]}:8081 max_fails=1 fail_timeout=5s;
    server ${IP[node2]}:8081 max_fails=1 fail_timeout=5s;
    server ${IP[node3]}:8081 max_fails=1 fail_timeout=5s;
}
server {
    listen 8081;
    location / {
        proxy_pass http://site;
        proxy_connect_timeout 1s;
        proxy_next_upstream error timeout http_502 http_503 http_504;
        proxy_next_upstream_tries 3;
    }
}
server {
    listen 8080;
    location / {
        proxy_pass http://nodes;
        proxy_http_version 1.1;
        # web trusts this load balancer (WEB_TRUSTED_PROXIES) to name the client.
        proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
        proxy_connect_timeout 1s;
        proxy_read_timeout 30s;
        # A node that refuses, times out or is between web tasks: the next one.
        # POSTs too: a filing is idempotent by its key.
        proxy_next_upstream error timeout http_502 http_503 http_504 non_idempotent;
        proxy_next_upstream_tries 3;
    }
}
CONF
docker run -d --name loandesk-swarm-lb --network "$NET" --ip "$LB_IP" -p "127.0.0.1:$LB_PORT:8080" -p "127.0.0.1:$LB_SITE_PORT:8081" \
    -v "$work/lb.conf:/etc/nginx/conf.d/default.conf:ro" "$NGINX_IMAGE" >/dev/null

export PUBLIC_URL="http://127.0.0.1:$LB_PORT"
use_swarmwait "$work/bin" # app.sh and site.sh wait on the Swarm with it
# One loader is one client of the load balancer: the per-client limits are
# raised for it (make test-chaos proves them at their defaults).
export STACK SUBMIT_RATE_LIMIT=100000 MAX_IN_FLIGHT_PER_CLIENT=128 COOKIE_SECURE=false WORKER_RETRY_MAX=5s WEB_TRUSTED_PROXIES=$LB_IP \
    WEB_REQUESTS_PER_SECOND=5000 WEB_FILINGS_PER_MINUTE=100000
export POSTGRES_IMAGE VALKEY_IMAGE
release() { # NAME APP WEB: migrations as a job, then the stack, then wait (app.sh release does the same)
    # The pipeline drives the Swarm through a manager; the host's engine
    # keeps building and pushing.
    DOCKER_HOST="tcp://${IP[node1]}:2375" APP_IMAGE=$2 WEB_IMAGE=$3 "$here/app.sh" release
}
t0=$(now_ms)
release A "$A_APP" "$A_WEB" || fail "release A did not converge"
say "release A deployed and converged in $(secs "$t0" "$(now_ms)") s"

# --- the load ----------------------------------------------------------------
# The verdict is the loader's: no failed request in any phase (c) included),
# no filing lost, every one decided, 100 filings at least.
load=$work/phase-load
phase "$load" a
tool_start loandesk-swarm-loader "$work" load.csv loader -url "http://127.0.0.1:$LB_PORT" -rate 10 -pages 10 \
    -stop /out/stop -out /out/load.csv -phases /out/phase-load -max-failed 0 -min-filings 100 || fail "the loader did not start"
sleep 5

# --- a) release B ------------------------------------------------------------
build_release "swarm-b"
B_APP=$(push loandesk/loandesk:swarm-b loandesk/loandesk)
B_WEB=$(push loandesk/web:swarm-b loandesk/web)
a0=$(now_ms)
phase "$load" b-migrate
DOCKER_HOST="tcp://${IP[node1]}:2375" APP_IMAGE=$B_APP "$here/app.sh" migrate || fail "release B's migrations failed"
phase "$load" a-on-b-schema
sleep 10 # A's code on B's schema, under the load (expand/contract)
phase "$load" b-deploy
DOCKER_HOST="tcp://${IP[node1]}:2375" APP_IMAGE=$B_APP WEB_IMAGE=$B_WEB "$here/app.sh" deploy || fail "release B did not converge"
DOCKER_HOST="tcp://${IP[node1]}:2375" "$here/app.sh" smoke || fail "release B is not served"
a1=$(now_ms)
phase "$load" b-done
for s in api worker; do
    [ "$(on node1 service inspect -f '{{.Spec.TaskTemplate.ContainerSpec.Image}}' "${STACK}_$s")" = "$B_APP" ] || fail "$s is not on release B"
done
sleep 3

# --- b) release C: its api never listens -----------------------------------
printf 'FROM loandesk/loandesk:swarm-b\nENV LISTEN_ADDR=nowhere\n' | docker build -q -t loandesk/loandesk:swarm-c - >/dev/null
C_APP=$(push loandesk/loandesk:swarm-c loandesk/loandesk)
b0=$(now_ms)
phase "$load" c
if release C "$C_APP" "$B_WEB"; then fail "the pipeline accepted release C"; fi
b1=$(now_ms)
phase "$load" c-done
[ "$(on node1 service inspect -f '{{.Spec.TaskTemplate.ContainerSpec.Image}}' "${STACK}_api")" = "$B_APP" ] || fail "api is not back on B"
sleep 3

# --- c) a node without data dies; d) it returns ---------------------------
tasks_on() { # NODE: the app's tasks meant to run there
    on node1 service ps --filter desired-state=running --format '{{.Node}} {{.Name}}' \
        "${STACK}_api" "${STACK}_worker" "${STACK}_web" 2>/dev/null | awk -v n="$1" '$1 == n { print $2 }' | sort | tr '\n' ' '
}
before=$(tasks_on node3)
say "node3 runs: $before"
c0=$(now_ms)
phase "$load" node3-down
docker kill loandesk-swarm-node3 >/dev/null
seen_down=""
for _ in $(seq 1 60); do
    [ "$(on node1 node inspect -f '{{.Status.State}}' node3)" = down ] && { seen_down=$(now_ms); break; }
    sleep 0.5
done
[ -n "$seen_down" ] || fail "the managers did not see node3 down within 30 s"
# Quorum: two of three managers still take changes.
on node1 service update --detach --label-add "rehearsal.lost=node3" "${STACK}_scoring" >/dev/null || fail "the managers lost quorum"
c1=""
for _ in $(seq 1 120); do
    api=$(on node1 service ps --filter desired-state=running --format '{{.Node}} {{.CurrentState}}' "${STACK}_api" | grep -v '^node3' | grep -c ' Running' || true)
    worker=$(on node1 service ps --filter desired-state=running --format '{{.Node}} {{.CurrentState}}' "${STACK}_worker" | grep -v '^node3' | grep -c ' Running' || true)
    if [ "$api" -ge 3 ] && [ "$worker" -ge 2 ]; then c1=$(now_ms); break; fi
    sleep 1
done
[ -n "$c1" ] || fail "api and worker did not come back to 3 and 2 tasks on the other nodes within 120 s"
say "node2 and node1 now run: $(tasks_on node1)$(tasks_on node2)"
d0=$(now_ms)
phase "$load" node3-back
docker start loandesk-swarm-node3 >/dev/null
d1="" nodes=""
for _ in $(seq 1 120); do
    nodes=$(on node1 node ls --format '{{.Hostname}}:{{.Status}}:{{.ManagerStatus}}' 2>&1 | sort | tr '\n' ' ')
    if [ "$nodes" = "node1:Ready:Leader node2:Ready:Reachable node3:Ready:Reachable " ] ||
        [ "$nodes" = "node1:Ready:Reachable node2:Ready:Leader node3:Ready:Reachable " ] ||
        [ "$nodes" = "node1:Ready:Reachable node2:Ready:Reachable node3:Ready:Leader " ]; then
        d1=$(now_ms)
        break
    fi
    sleep 1
done
[ -n "$d1" ] || fail "node3 did not rejoin within 120 s: $nodes"
phase "$load" three-nodes
sleep 5

# --- e) Part 3's site on the same nodes --------------------------------------
site() { # site.sh STAGE for the site, on this Swarm (the nodes pull from registry:5000)
    IMAGE=loandesk-site-swarm DOCKER_HOST="tcp://${IP[node1]}:2375" STACK=loandesk-site EDGE_PORT=8081 STACK_DIR="$work/swarm" \
        NGINX_IMAGE=$EDGE_IMAGE SITE_IMAGE=$1 PUBLIC_URL="http://127.0.0.1:$LB_SITE_PORT" REVISION=$2 "$here/site.sh" "$3"
}
site_image() { # REVISION: built from $work/site, pushed, its digest for the nodes
    IMAGE=loandesk-site-swarm SITE_DIR="$work/site" REVISION=$1 "$here/site.sh" build >/dev/null 2>&1
    push "loandesk-site-swarm:sha-$1" loandesk-site
}
cp -r "$root/site" "$work/site"
mkdir -p "$work/swarm" && cp "$here/stack.yml" "$here/edge.conf" "$work/swarm/"
EDGE_IMAGE=$(push "$NGINX_IMAGE" nginx)
S1=$(site_image swarm-s1)
site "$S1" swarm-s1 deploy >/dev/null 2>&1 || fail "the site did not deploy"
site "$S1" swarm-s1 smoke >/dev/null 2>&1 || fail "the site is not served"
probe=$work/phase-site
phase "$probe" s1
tool_start loandesk-swarm-prober "$work" probe.csv prober -url "http://127.0.0.1:$LB_SITE_PORT/" -rate 50 \
    -stop /out/stop-prober -out /out/probe.csv -phases /out/phase-site -max-failed 0 -min-requests 500 \
    -allow s1=swarm-s1 -allow "s2=swarm-s1|swarm-s2" -allow edge=swarm-s2 -allow edge-done=swarm-s2 || fail "the prober did not start"
sleep 2
echo '<p>Release S2.</p>' >>"$work/site/index.html"
S2=$(site_image swarm-s2)
e0=$(now_ms)
phase "$probe" s2
site "$S2" swarm-s2 deploy >/dev/null 2>&1 || fail "the index.html change did not roll out"
site "$S2" swarm-s2 smoke >/dev/null 2>&1 || fail "the index.html change is not served"
e1=$(now_ms)
phase "$probe" edge
printf '\n# rehearsal %s: a changed edge.conf is a new config\n' "$e1" >>"$work/swarm/edge.conf"
site "$S2" swarm-s2 deploy >/dev/null 2>&1 || fail "the edge.conf change did not roll out"
e2=$(now_ms)
phase "$probe" edge-done
edge_conf=$(on node1 service inspect -f '{{range .Spec.TaskTemplate.ContainerSpec.Configs}}{{.ConfigName}}{{end}}' loandesk-site_edge)
[ "$edge_conf" = "edge_conf_$(sha256sum "$work/swarm/edge.conf" | cut -c1-12)" ] || fail "the edge does not run the new edge.conf ($edge_conf)"
sleep 2
site_ok=1
tool_verdict loandesk-swarm-prober "$work/stop-prober" 30 || site_ok=""

# --- the verdict -----------------------------------------------------------
load_ok=1
tool_verdict loandesk-swarm-loader "$work/stop" 200 || load_ok=""
say "a) release B rolled out in $(secs "$a0" "$a1") s (migrations, A's code on B's schema for 10 s, api, worker, web)"
say "b) release C rolled back and put back to B in $(secs "$b0" "$b1") s"
say "c) node3 killed (it ran: $before): seen down after $(secs "$c0" "$seen_down") s; api 3/3 and worker 2/2 on the other nodes $(secs "$c0" "$c1") s after the kill"
say "d) node3 rejoined in $(secs "$d0" "$d1") s; quorum held while it was away"
say "e) site on the three nodes: index.html change live in $(secs "$e0" "$e1") s; edge.conf change rolled over the three edges in $(secs "$e1" "$e2") s"
[ -n "$site_ok" ] || fail "the site's prober saw failures or a release where it must not be (its phases above)"
[ -n "$load_ok" ] || fail "the loader saw failures, lost or undecided filings (its phases above)"
say "ok in $(secs "$start" "$(now_ms)") s: every phase without a failed request, 0 filings lost, all decided"
