#!/usr/bin/env bash
# Checks the running compose stack: only web publishes a port, nothing runs
# as root, root filesystems are read-only with all capabilities dropped, web
# cannot reach the databases or the external services, and the images are
# within their size targets.
set -euo pipefail
project=${COMPOSE_PROJECT_NAME:?}
fail=0
bad() { echo "check-containers: $*" >&2; fail=1; }

for id in $(docker ps -q --filter "label=com.docker.compose.project=$project"); do
    svc=$(docker inspect -f '{{ index .Config.Labels "com.docker.compose.service" }}' "$id")
    ports=$(docker inspect -f '{{ range $p, $b := .NetworkSettings.Ports }}{{ if $b }}{{ $p }} {{ end }}{{ end }}' "$id")
    if [ -n "$ports" ] && [ "$svc" != web ]; then bad "$svc publishes $ports"; fi
    uids=$(docker top "$id" -eo pid,uid | awk 'NR > 1 { print $2 }' | sort -u | tr '\n' ' ')
    case " $uids " in *" 0 "*) bad "$svc runs a process as root (uids: $uids)" ;; esac
    [ "$(docker inspect -f '{{ .HostConfig.ReadonlyRootfs }}' "$id")" = true ] || bad "$svc has a writable root filesystem"
    docker inspect -f '{{ .HostConfig.CapDrop }}' "$id" | grep -qi all || bad "$svc keeps Linux capabilities"
    echo "  $svc: uids $uids ports ${ports:-none}"
done

web=$(docker compose ps -q web)
docker exec "$web" wget -q -T 3 -O /dev/null http://api:8000/healthz || bad "web cannot reach the api"
for target in postgres:5432 valkey:6379 scoring:7001 identity:7002; do
    if out=$(docker exec "$web" wget -q -T 3 -O /dev/null "http://$target/" 2>&1); then
        bad "web reached $target"
    elif ! grep -q "bad address" <<<"$out"; then
        bad "web resolved $target ($out)"
    fi
done

limit() { # limit IMAGE MAX_MB
    local size; size=$(docker image inspect -f '{{ .Size }}' "$1")
    awk -v s="$size" -v i="$1" -v l="$2" 'BEGIN { printf "  image %-28s %5.1f MB (limit %s MB)\n", i, s / 1e6, l }'
    [ "$size" -le $(( $2 * 1000000 )) ] || bad "$1 is over $2 MB"
}
# 24: the OpenTelemetry SDK and its instrumentations (HTTP, pgx, Valkey,
# River) add 2.5 MB to the 19.6 MB the app was without tracing.
limit loandesk/loandesk:dev 24
# 20: each stand-in checks requests against its own contract (api/*.yaml) with
# libopenapi-validator and its JSON Schema engine: 18.6 MB, was 10 without.
limit loandesk/scoring:dev 20
limit loandesk/identity:dev 20
limit loandesk/web:dev 60
[ "$fail" -eq 0 ] && echo "check-containers: ok"
exit "$fail"
