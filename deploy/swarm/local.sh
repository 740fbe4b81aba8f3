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
    for _ in $(seq 1 40); do
        # bash's /dev/tcp: no client tool needed on the host.
        if (exec 3<>/dev/tcp/127.0.0.1/5000) 2>/dev/null; then
            return 0
        fi
        sleep 0.5
    done
    echo "the local registry did not answer" >&2
    return 1
}
