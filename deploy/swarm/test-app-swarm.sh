#!/usr/bin/env bash
# make test-swarm: the app on a real Swarm under load (docs/swarm.md, "The rehearsal"). Three
# Docker engines in containers (docker:dind, or its CI stand-in) are the managers, a fourth a worker
# that holds pgBackRest's repository; a registry; a load balancer on 127.0.0.1 (rehearsal-lb.conf).
# A loader files requests and loads pages throughout: a) release B (migrations first); b) release
# C, whose api never listens, rolled back, the pipeline failing; c) the PostgreSQL primary's node
# killed (the whole engine); d) it returns, its member a replica again; e) a planned switchover;
# g) a point-in-time restore (app.sh db-restore) to T just after it: exactly the filings saved by
# T; f) Part 3's site takes an index.html and an edge.conf change under a prober at 50 requests/s.
# The loader and the prober give the verdict (deploy/swarm/phase): 0 failed requests but in c),
# d) and e), whose refusals are retried and counted; 0 filings lost, none twice, all decided.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=deploy/swarm/local.sh
. "$here/local.sh" # .env; phase, tool_start, tool_verdict

NET=loandesk-swarm
SUBNET=192.168.239.0/24
REG_IP=192.168.239.2 LB_IP=192.168.239.3
NODES=(node1 node2 node3) BACKUP_NODE=node4 # node4: a worker, never killed, the backup repository's
declare -A IP=([node1]=192.168.239.11 [node2]=192.168.239.12 [node3]=192.168.239.13 [node4]=192.168.239.14)
LB_PORT=${TEST_SWARM_PORT:-18090}
LB_SITE_PORT=${TEST_SWARM_SITE_PORT:-18091}
REG_PORT=${TEST_SWARM_REGISTRY_PORT:-15001}
STACK=loandesk DATA=loandesk-data # the app's stack, the data tier's
CTRL=node1 # the manager the test drives the Swarm through: one that stays up
work=$(mktemp -d)

say() { printf 'swarm-test: %s\n' "$*"; }
fail() { say "FAILED: $*"; exit 1; }
now_ms() { date +%s%3N; }
on() { local n=$1; shift; docker -H "tcp://${IP[$n]}:2375" "$@"; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1000 }'; }

# The stack, and the data it left on the nodes (a new run makes new secrets).
forget_data() {
    on "$CTRL" stack rm "$STACK" "$DATA" >/dev/null 2>&1 || true
    local n
    on "$CTRL" stack rm "$STACK-restore" >/dev/null 2>&1 || true
    for n in "${NODES[@]}" "$BACKUP_NODE"; do
        on "$n" ps -aq --filter "label=com.docker.swarm.service.name" 2>/dev/null | xargs -r docker -H "tcp://${IP[$n]}:2375" rm -f >/dev/null 2>&1 || true
        on "$n" volume rm -f "${DATA}_pg${n#node}" "${DATA}_etcd${n#node}" "${DATA}_valkeydata" "${DATA}_backup" "$STACK-restore_data" >/dev/null 2>&1 || true
    done
}

cleanup() {
    status=$?
    touch "$work/stop" 2>/dev/null || true
    if [ "$status" -ne 0 ]; then
        rm -rf "$root/deploy/swarm/results" && mkdir -p "$root/deploy/swarm/results"
        on "$CTRL" service ls >"$root/deploy/swarm/results/services.txt" 2>&1 || true
        for s in "${STACK}"_{api,worker,web} "${DATA}"_{pg1,pg2,pg3,etcd1,etcd2,etcd3,backup} "$STACK-restore_postgres"; do
            on "$CTRL" service ps --no-trunc "$s" >>"$root/deploy/swarm/results/tasks.txt" 2>&1 || true
            timeout 30 docker -H "tcp://${IP[$CTRL]}:2375" service logs --timestamps --tail 3000 "$s" >>"$root/deploy/swarm/results/logs.txt" 2>&1 || true
        done
        docker logs loandesk-swarm-lb >"$root/deploy/swarm/results/lb.log" 2>&1 || true
        cp "$work"/*.csv "$root/deploy/swarm/results/" 2>/dev/null || true
        say "logs in deploy/swarm/results/"
    fi
    docker rm -f loandesk-swarm-loader loandesk-swarm-prober >/dev/null 2>&1 || true
    on "$CTRL" stack rm loandesk-site >/dev/null 2>&1 || true
    forget_data
    for n in "${NODES[@]}" "$BACKUP_NODE"; do on "$n" swarm leave --force >/dev/null 2>&1 || true; done
    docker rm -f loandesk-swarm-lb loandesk-swarm-registry "${NODES[@]/#/loandesk-swarm-}" "loandesk-swarm-$BACKUP_NODE" >/dev/null 2>&1 || true
    docker network rm "$NET" >/dev/null 2>&1 || true
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT

# --- the cluster -----------------------------------------------------------
start=$(now_ms)
docker rm -f loandesk-swarm-lb loandesk-swarm-registry "${NODES[@]/#/loandesk-swarm-}" "loandesk-swarm-$BACKUP_NODE" >/dev/null 2>&1 || true
docker network rm "$NET" >/dev/null 2>&1 || true
docker network create --subnet "$SUBNET" "$NET" >/dev/null
docker run -d --name loandesk-swarm-registry --network "$NET" --ip "$REG_IP" --network-alias registry \
    -p "127.0.0.1:$REG_PORT:5000" -v loandesk-swarm-registry:/var/lib/registry "$REGISTRY_IMAGE" >/dev/null
# What --privileged would give, minus CAP_SYS_RESOURCE (outside this machine's bounding set).
for n in "${NODES[@]}" "$BACKUP_NODE"; do
    docker run -d --name "loandesk-swarm-$n" --hostname "$n" --network "$NET" --ip "${IP[$n]}" \
        --cap-add ALL --cap-drop SYS_RESOURCE --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
        --security-opt systempaths=unconfined --device-cgroup-rule 'a *:* rwm' -v /sys/fs/cgroup:/sys/fs/cgroup:rw \
        -v "loandesk-swarm-$n:/var/lib/docker" -e DOCKER_TLS_CERTDIR= \
        "$DOCKER_DIND_IMAGE" --insecure-registry registry:5000 >/dev/null
done
for n in "${NODES[@]}" "$BACKUP_NODE"; do
    for _ in $(seq 1 60); do on "$n" info >/dev/null 2>&1 && break; sleep 0.5; done
    on "$n" info >/dev/null 2>&1 || { docker logs "loandesk-swarm-$n" | tail -20; fail "the engine on $n did not start"; }
done
# A previous run's, if it died: its stack, data and Swarm.
forget_data
for n in "${NODES[@]}" "$BACKUP_NODE"; do on "$n" swarm leave --force >/dev/null 2>&1 || true; done
on node1 swarm init --advertise-addr "${IP[node1]}" >/dev/null
for n in node2 node3; do on "$n" swarm join --token "$(on node1 swarm join-token -q manager)" "${IP[node1]}:2377" >/dev/null; done
on "$BACKUP_NODE" swarm join --token "$(on node1 swarm join-token -q worker)" "${IP[node1]}:2377" >/dev/null
on node1 node update --label-add loandesk.data=true node1 >/dev/null && on node1 node update --label-add loandesk.backup=true "$BACKUP_NODE" >/dev/null
for n in "${NODES[@]}"; do on node1 node update --label-add "zone=$n" --label-add "loandesk.db=${n#node}" "$n" >/dev/null; done
say "three managers and the backup's worker up in $(secs "$start" "$(now_ms)") s: $(on node1 node ls --format '{{.Hostname}}:{{.ManagerStatus}}' | tr '\n' ' ')"

# --- images: built once, pushed, named by digest ---------------------------
# push IMAGE NAME: the registry's digest reference for the nodes.
push() {
    local local_ref="127.0.0.1:$REG_PORT/$2"
    docker tag "$1" "$local_ref" && docker push -q "$local_ref" >/dev/null
    echo "registry:5000/$2@$(docker inspect -f '{{index .RepoDigests 0}}' "$local_ref" | sed 's/.*@//')"
}
build_release() { # REVISION [SOURCE]: the app, worker and web images of one release (the app's from SOURCE)
    docker build -q --build-arg "GO_IMAGE=$GO_IMAGE" --build-arg "RUNTIME_IMAGE=$RUNTIME_IMAGE" --build-arg "REVISION=$1" \
        --target loandesk -t "loandesk/loandesk:$1" "${2:-$root}" >/dev/null
    docker build -q --build-arg "NODE_IMAGE=$NODE_IMAGE" --build-arg "NGINX_IMAGE=$NGINX_IMAGE" --build-arg "REVISION=$1" \
        -f "$root/web/Dockerfile" -t "loandesk/web:$1" "$root" >/dev/null
}
t0=$(now_ms)
# Release A is the code from before the newest migration, so B's migrations run under A's code, as
# in production (expand now, contract later): the load shows whether A works on B's schema.
prev=$(git -C "$root" log --diff-filter=A -1 --format=%H -- internal/postgres/migrations 2>/dev/null || true)
{ [ -n "$prev" ] && git -C "$root" cat-file -e "$prev^" 2>/dev/null; } ||
    fail "make test-swarm needs the git history to build the previous release (a full clone; in CI: fetch-depth 0)"
mkdir -p "$work/prev" && git -C "$root" archive "$prev^" | tar -x -C "$work/prev"
build_release "swarm-a" "$work/prev"
say "release A: the code of $(git -C "$root" log -1 --format='%h (%ad)' --date=short "$prev^"), before migration $(git -C "$root" show --format= --name-only --diff-filter=A "$prev" -- internal/postgres/migrations | head -1 | xargs -r basename)"
for t in scoring identity; do
    docker build -q --build-arg "GO_IMAGE=$GO_IMAGE" --build-arg "RUNTIME_IMAGE=$RUNTIME_IMAGE" --target "$t" -t "loandesk/$t:swarm" "$root" >/dev/null
done
SCORING_IMAGE=$(push loandesk/scoring:swarm loandesk/scoring)
IDENTITY_IMAGE=$(push loandesk/identity:swarm loandesk/identity)
docker build -q --build-arg "GO_IMAGE=$GO_IMAGE" --build-arg "POSTGRES_IMAGE=$POSTGRES_IMAGE" -t loandesk/postgres:swarm "$root/deploy/postgres" >/dev/null
DB_IMAGE=$(push loandesk/postgres:swarm loandesk/postgres)
VALKEY_IMAGE=$(push "$VALKEY_IMAGE" valkey)
A_APP=$(push loandesk/loandesk:swarm-a loandesk/loandesk)
A_WEB=$(push loandesk/web:swarm-a loandesk/web)
say "images built and pushed in $(secs "$t0" "$(now_ms)") s"

use_swarmwait "$work/bin" # app.sh and site.sh wait on the Swarm with it; the data phases on Patroni with pgwait
# Secrets: made here, never written to the repository (the REST API's is kept for pgwait).
for s in db_password db_app_password valkey_password admin_password session_key db_superuser_password db_replication_password db_rest_password backup_cipher_pass; do
    head -c 33 /dev/urandom | base64 | tr -d '/+=' | tee "$work/$s" | on node1 secret create "loandesk_$s" - >/dev/null
done
"$TESTCERTS" -out "$work" -names backup,pg1,pg2,pg3 -cn loandesk-backup || fail "no certificates for pgBackRest" # its TLS
for s in backup_ca:ca.crt backup_cert:server.crt backup_key:server.key; do on node1 secret create "loandesk_${s%:*}" "$work/${s#*:}" >/dev/null; done
# Part 3's two site releases (f), built now: this machine is also the nodes', and a build in
# the switchover's aftermath starved the new primary's disk (a 9 MB checkpoint took 12 s).
site_image() { # REVISION: built from $work/site, pushed, its digest for the nodes
    IMAGE=loandesk-site-swarm SITE_DIR="$work/site" REVISION=$1 "$here/site.sh" build >/dev/null 2>&1
    push "loandesk-site-swarm:sha-$1" loandesk-site
}
cp -r "$root/site" "$work/site"
mkdir -p "$work/swarm" && cp "$here/stack.yml" "$here/edge.conf" "$work/swarm/"
EDGE_IMAGE=$(push "$NGINX_IMAGE" nginx)
S1=$(site_image swarm-s1)
echo '<p>Release S2.</p>' >>"$work/site/index.html"
S2=$(site_image swarm-s2)

# --- the load balancer: what a cloud one does, on 127.0.0.1 ------------------
sed -e "s/@NODE1@/${IP[node1]}/; s/@NODE2@/${IP[node2]}/; s/@NODE3@/${IP[node3]}/" "$here/rehearsal-lb.conf" >"$work/lb.conf"
docker run -d --name loandesk-swarm-lb --network "$NET" --ip "$LB_IP" -p "127.0.0.1:$LB_PORT:8080" -p "127.0.0.1:$LB_SITE_PORT:8081" \
    -v "$work/lb.conf:/etc/nginx/conf.d/default.conf:ro" "$NGINX_IMAGE" >/dev/null

export PUBLIC_URL="http://127.0.0.1:$LB_PORT"
pgw() { "$PGWAIT" -member "pg1=http://${IP[node1]}:8008" -member "pg2=http://${IP[node2]}:8008" -member "pg3=http://${IP[node3]}:8008" "$@"; }
sw() { DOCKER_HOST="tcp://${IP[$CTRL]}:2375" "$SWARMWAIT" "$@"; }
# One loader is one client: the per-client limits are raised for it (test-chaos proves the defaults).
export STACK SUBMIT_RATE_LIMIT=100000 MAX_IN_FLIGHT_PER_CLIENT=128 COOKIE_SECURE=false WORKER_RETRY_MAX=5s WEB_TRUSTED_PROXIES=$LB_IP \
    WEB_REQUESTS_PER_SECOND=5000 WEB_FILINGS_PER_MINUTE=100000
# The stand-ins and Patroni's published REST API: rehearsal.yml over app.yml, rehearsal-data.yml over data.yml.
export SCORING_IMAGE IDENTITY_IMAGE DB_IMAGE VALKEY_IMAGE STACK_OVERRIDES=rehearsal.yml DATA_OVERRIDES=rehearsal-data.yml SCORING_URL=http://scoring:7001 IDENTITY_URL=http://identity:7002
app() { # STAGE [VAR=VALUE…]: app.sh STAGE as the pipeline runs it, through a manager that is up
    local stage=$1; shift
    # The host's engine keeps building and pushing.
    env DOCKER_HOST="tcp://${IP[$CTRL]}:2375" "$@" "$here/app.sh" "$stage"
}
release() { app release APP_IMAGE="$2" WEB_IMAGE="$3"; } # NAME APP WEB: migrations as a job, then the stack, then wait
t0=$(now_ms)
release A "$A_APP" "$A_WEB" || fail "release A did not converge"
say "release A deployed and converged in $(secs "$t0" "$(now_ms)") s"

# --- the load ----------------------------------------------------------------
# The verdict is the loader's (100 filings at least); refusals in a failover and a switchover are
# retried and counted; a phase named "~" begins once filings succeed to its end.
load=$work/phase-load
phase "$load" a
tool_start loandesk-swarm-loader "$work" load.csv loader -url "http://127.0.0.1:$LB_PORT" -rate 10 -pages 10 -give-up 90s \
    -stop /out/stop -out /out/load.csv -phases /out/phase-load -max-failed 0 -min-filings 100 \
    -max-failed-in primary-down=5000 -max-failed-in switchover=5000 || fail "the loader did not start"
sleep 5

# --- a) release B ------------------------------------------------------------
build_release "swarm-b"
B_APP=$(push loandesk/loandesk:swarm-b loandesk/loandesk)
B_WEB=$(push loandesk/web:swarm-b loandesk/web)
a0=$(now_ms)
phase "$load" b-migrate
app migrate APP_IMAGE="$B_APP" || fail "release B's migrations failed"
phase "$load" a-on-b-schema
sleep 10 # A's code on B's schema, under the load (expand/contract)
phase "$load" b-deploy
app deploy APP_IMAGE="$B_APP" WEB_IMAGE="$B_WEB" || fail "release B did not converge"
app smoke || fail "release B is not served"
h=$(docker exec loandesk-swarm-lb wget -q -S -O /dev/null http://127.0.0.1:8080/ 2>&1 || true); grep -qi 'strict-transport-security: max-age=31536000' <<<"$h" || fail "no HSTS from web (app.yml): $h"
a1=$(now_ms)
phase "$load" b-done
for s in api worker; do
    [ "$(on "$CTRL" service inspect -f '{{.Spec.TaskTemplate.ContainerSpec.Image}}' "${STACK}_$s")" = "$B_APP" ] || fail "$s is not on release B"
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
[ "$(on "$CTRL" service inspect -f '{{.Spec.TaskTemplate.ContainerSpec.Image}}' "${STACK}_api")" = "$B_APP" ] || fail "api is not back on B"
sleep 3

# --- c) the node of the PostgreSQL primary dies; d) it returns; e) switchover
tasks_on() { # NODE: the app's tasks meant to run there
    on "$CTRL" service ps --filter desired-state=running --format '{{.Node}} {{.Name}}' \
        "${STACK}_api" "${STACK}_worker" "${STACK}_web" 2>/dev/null | awk -v n="$1" '$1 == n { print $2 }' | sort | tr '\n' ' '
}
first=$(pgw -timeout 180s healthy) || fail "the data tier is not whole before the kill"
old=$(pgw leader) || fail "no primary"
victim=node${old#pg}
# Drive the Swarm through a manager that stays up.
[ "$CTRL" != "$victim" ] || CTRL=$([ "$victim" = node1 ] && echo node2 || echo node1)
before=$(tasks_on "$victim")
c0=$(now_ms)
phase "$load" primary-down
docker kill loandesk-swarm-"$victim" >/dev/null # SIGKILL to the whole engine: no clean shutdown
new=$(pgw -timeout 120s leader -not "$old") || fail "no new primary within 120 s of the kill"
c1=$(now_ms)
phase "$load" one-node-down~
sw -timeout 60s node-down "$victim" || fail "the managers did not see $victim down"
# Quorum: two of three managers still take changes.
on "$CTRL" service update --detach --label-add "rehearsal.lost=$victim" "${STACK}_web" >/dev/null || fail "the managers lost quorum"
for s in api:3 worker:2; do
    sw -timeout 120s away "$victim" "${STACK}_${s%:*}" "${s#*:}" || fail "${s%:*} did not come back to ${s#*:} tasks on the other nodes"
done
c2=$(now_ms)
sleep 5
say "the other nodes now run: $(tasks_on node1)$(tasks_on node2)$(tasks_on node3)"
d0=$(now_ms)
# Recovering too: a failover's tail (commits waiting for the new synchronous standby hold row locks: 503s) may reach here.
phase "$load" node-back~
docker start loandesk-swarm-"$victim" >/dev/null
sw -timeout 120s nodes-ready || fail "$victim did not rejoin the Swarm"
d1=$(now_ms)
members=$(pgw -timeout 300s healthy) || fail "$old did not rejoin the cluster as a replica"
d2=$(now_ms)
phase "$load" switchover
switched=$(pgw -timeout 120s -password-file "$work/db_rest_password" switchover) || fail "the planned switchover failed"
phase "$load" three-nodes~
sleep 5

# --- g) a point-in-time restore from what the primaries archived -------------
pnode=node$(pgw leader | sed 's/^pg//')
pcid=$(on "$pnode" ps -q --filter "label=com.docker.swarm.service.name=${DATA}_pg${pnode#node}" | head -1)
primary_sql() { on "$pnode" exec "$pcid" psql -U postgres -d loandesk -Atc "$1"; } # SQL: as the superuser, on the primary
filings_sql="SELECT id, extract(epoch FROM created_at) FROM loan_requests WHERE full_name LIKE 'Carga Swarm %' ORDER BY id"
g0=$(now_ms) # the load stays in three-nodes~: a switchover's straggler may still be refused
IFS='|' read -r T Tepoch < <(primary_sql "SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00', extract(epoch FROM t) FROM (SELECT clock_timestamp() AS t) AS now")
[ -n "$Tepoch" ] || fail "no time from the primary"
sleep 5 # filings go on: the archive must hold commits after T, or recovery never reaches it
ga=$(now_ms) # check switches the WAL segment and waits until the repository has it
on "$pnode" exec "$pcid" pgbackrest check >/dev/null || fail "the primary's WAL does not reach the repository"
gb=$(now_ms)
app db-restore TIME="$T" RESTORE_WAIT=600s || fail "the point-in-time restore to $T failed"
g1=$(now_ms)
rcid=$(on "$BACKUP_NODE" ps -q --filter "label=com.docker.swarm.service.name=$STACK-restore_postgres" | head -1)
on "$BACKUP_NODE" exec "${rcid:?the restored PostgreSQL does not run on $BACKUP_NODE}" psql -U postgres -d loandesk -Atc "$filings_sql" >"$work/restored.txt" || fail "the restored PostgreSQL does not answer"
primary_sql "$filings_sql" >"$work/primary.txt" || fail "the primary does not answer"
pitr=$("$PITRCHECK" -restored "$work/restored.txt" -primary "$work/primary.txt" -t "$Tepoch") || fail "the restore to $T: $pitr"
on "$CTRL" stack rm "$STACK-restore" >/dev/null && g2=$(now_ms)

# --- f) Part 3's site on the same nodes --------------------------------------
site() { # site.sh STAGE for the site, on this Swarm (the nodes pull from registry:5000)
    IMAGE=loandesk-site-swarm DOCKER_HOST="tcp://${IP[$CTRL]}:2375" STACK=loandesk-site EDGE_PORT=8081 STACK_DIR="$work/swarm" \
        NGINX_IMAGE=$EDGE_IMAGE SITE_IMAGE=$1 PUBLIC_URL="http://127.0.0.1:$LB_SITE_PORT" REVISION=$2 "$here/site.sh" "$3"
}
site "$S1" swarm-s1 deploy >/dev/null 2>&1 || fail "the site did not deploy"
site "$S1" swarm-s1 smoke >/dev/null 2>&1 || fail "the site is not served"
probe=$work/phase-site
phase "$probe" s1
tool_start loandesk-swarm-prober "$work" probe.csv prober -url "http://127.0.0.1:$LB_SITE_PORT/" -rate 50 \
    -stop /out/stop-prober -out /out/probe.csv -phases /out/phase-site -max-failed 0 -min-requests 500 \
    -allow s1=swarm-s1 -allow "s2=swarm-s1|swarm-s2" -allow edge=swarm-s2 -allow edge-done=swarm-s2 || fail "the prober did not start"
sleep 2
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
edge_conf=$(on "$CTRL" service inspect -f '{{range .Spec.TaskTemplate.ContainerSpec.Configs}}{{.ConfigName}}{{end}}' loandesk-site_edge)
[ "$edge_conf" = "edge_conf_$(sha256sum "$work/swarm/edge.conf" | cut -c1-12)" ] || fail "the edge does not run the new edge.conf ($edge_conf)"
sleep 2
site_ok=1
tool_verdict loandesk-swarm-prober "$work/stop-prober" 30 || site_ok=""

# --- the verdict -----------------------------------------------------------
load_ok=1
tool_verdict loandesk-swarm-loader "$work/stop" 200 || load_ok=""
say "a) release B rolled out in $(secs "$a0" "$a1") s (migrations, A's code on B's schema for 10 s, api, worker, web)"
say "b) release C rolled back and put back to B in $(secs "$b0" "$b1") s"
say "c) the data tier was $first; $victim killed with the primary $old (it ran: $before): $new took writes $(secs "$c0" "$c1") s after the kill; api 3/3 and worker 2/2 on the other nodes after $(secs "$c0" "$c2") s"
say "d) $victim rejoined the Swarm in $(secs "$d0" "$d1") s, and $old the cluster as a replica $(secs "$d0" "$d2") s after it started: $members"
say "e) planned switchover to ${switched% *}: it took writes after ${switched#* } s"
say "g) restored to T=$T in $(secs "$g0" "$g2") s on $BACKUP_NODE (T + 5 s of WAL, switched and archived in $(secs "$ga" "$gb") s, db-restore $(secs "$gb" "$g1") s): $pitr"
say "f) site on the three nodes: index.html change live in $(secs "$e0" "$e1") s; edge.conf change rolled over the three edges in $(secs "$e1" "$e2") s"
# Each filing once: the loader's filings have distinct names (two rows for one: kept twice). The
# primary is g)'s: nothing moved it since.
IFS='|' read -r rows twice < <(primary_sql "SELECT count(*), count(*) - count(DISTINCT full_name) FROM loan_requests WHERE full_name LIKE 'Carga Swarm %'")
say "filings kept: $rows rows, $twice twice"
[ "$twice" = 0 ] || fail "$twice filings were kept twice"
[ -n "$site_ok" ] || fail "the site's prober saw failures or a release where it must not be (its phases above)"
[ -n "$load_ok" ] || fail "the loader saw failures, lost or undecided filings (its phases above)"
say "ok in $(secs "$start" "$(now_ms)") s: no failed request outside the failovers (their refusals are counted above), 0 filings lost, all decided"
