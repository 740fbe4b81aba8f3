#!/bin/sh
# Patroni and etcd read passwords from their environment only: each NAME_FILE variable (a Swarm
# secret's path) becomes NAME, then the command runs in this process. Of pgBackRest's options,
# only its secrets (cipher pass, S3 keys) are read so: its others ending in _FILE are its own.
set -eu
for name in $(env | grep -Ev '^PGBACKREST_' | sed -n 's/^\([A-Z][A-Z0-9_]*\)_FILE=.*/\1/p') \
    $(env | sed -n 's/^\(PGBACKREST_[A-Z0-9_]*_\(CIPHER_PASS\|S3_KEY\|S3_KEY_SECRET\|S3_TOKEN\)\)_FILE=.*/\1/p'); do
    file=$(printenv "${name}_FILE")
    export "$name=$(cat "$file")"
    unset "${name}_FILE"
done
# A member also serves pgBackRest's TLS protocol (the repository host backs up
# whichever member is primary), restarted if it stops; Patroni is this process.
if [ "${1:-}" = patroni ] && [ -n "${PGBACKREST_TLS_SERVER_ADDRESS:-}" ]; then
    (while :; do pgbackrest server || echo "loandesk-db: pgBackRest's TLS server stopped ($?); starting it again" >&2; sleep 5; done) &
fi
exec "$@"
