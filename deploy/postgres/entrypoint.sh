#!/bin/sh
# Patroni and etcd read passwords from their environment only: each
# NAME_FILE variable (a Swarm secret's path) becomes NAME, then the command
# runs in this process.
set -eu
for name in $(env | sed -n 's/^\([A-Z][A-Z0-9_]*\)_FILE=.*/\1/p'); do
    file=$(printenv "${name}_FILE")
    export "$name=$(cat "$file")"
    unset "${name}_FILE"
done
exec "$@"
