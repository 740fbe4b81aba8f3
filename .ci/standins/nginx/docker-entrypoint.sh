#!/bin/sh
# Upstream runs /docker-entrypoint.d/*.sh hooks before nginx; so do we.
set -e
for f in /docker-entrypoint.d/*.sh; do
    [ -x "$f" ] && "$f"
done
exec "$@"
