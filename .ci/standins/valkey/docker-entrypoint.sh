#!/bin/sh
# As upstream: a bare option list runs valkey-server; root drops to valkey.
# Upstream builds Valkey with protected mode off (the container network is
# the boundary); Debian's build has it on, so turn it off here.
set -e
case "$1" in -*) set -- valkey-server "$@" ;; esac
if [ "$1" = valkey-server ]; then
    if [ "$(id -u)" = 0 ]; then
        find . \! -user valkey -exec chown valkey '{}' +
        exec setpriv --reuid=valkey --regid=valkey --init-groups "$0" "$@"
    fi
    case " $* " in *protected-mode*) ;; *) set -- "$@" --protected-mode no ;; esac
fi
exec "$@"
