#!/bin/sh
# Upstream's contract, as make test-swarm uses it: arguments go to dockerd;
# DOCKER_TLS_CERTDIR="" means plain TCP on 2375 (a private test network only).
set -e
# A killed engine leaves its pid files; the restarted one would find "itself"
# (PID 1) and refuse to start. Upstream's entrypoint removes them too.
find /run /var/run -iname 'docker*.pid' -delete 2>/dev/null || true
find /run /var/run -iname 'containerd*.pid' -delete 2>/dev/null || true
if [ "${1#-}" != "$1" ] || [ $# -eq 0 ]; then
    set -- dockerd --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2375 --tls=false "$@"
fi
exec "$@"
