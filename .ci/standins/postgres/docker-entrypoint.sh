#!/bin/bash
# The subset of upstream's entrypoint that LoanDesk relies on.
set -Eeuo pipefail

file_env() { # VAR or VAR_FILE, as upstream
    local var="$1" file="${1}_FILE" def="${2:-}"
    if [ -n "${!var:-}" ] && [ -n "${!file:-}" ]; then echo "both $var and $file are set" >&2; exit 1; fi
    local val="$def"
    if [ -n "${!var:-}" ]; then val="${!var}"; elif [ -n "${!file:-}" ]; then val="$(< "${!file}")"; fi
    export "$var"="$val"; unset "$file"
}

if [ "${1:0:1}" = '-' ]; then set -- postgres "$@"; fi

if [ "$1" = 'postgres' ]; then
    if [ "$(id -u)" = '0' ]; then
        mkdir -p "$PGDATA" && chown postgres:postgres "$PGDATA" && chmod 700 "$PGDATA"
        exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
    fi
    # Running as postgres from the start (compose `user:`) works too, as upstream.
    mkdir -p "$PGDATA"
    chmod 700 "$PGDATA" 2>/dev/null || :
    file_env POSTGRES_PASSWORD
    file_env POSTGRES_USER postgres
    file_env POSTGRES_DB "$POSTGRES_USER"
    if [ ! -s "$PGDATA/PG_VERSION" ]; then
        if [ -z "$POSTGRES_PASSWORD" ] && [ "${POSTGRES_HOST_AUTH_METHOD:-}" != trust ]; then
            echo "Database is uninitialized and superuser password is not specified (POSTGRES_PASSWORD)." >&2; exit 1
        fi
        pwfile=$(mktemp); printf '%s' "$POSTGRES_PASSWORD" > "$pwfile"
        # POSTGRES_INITDB_ARGS is split into words, as upstream's eval does.
        # shellcheck disable=SC2086
        initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 -D "$PGDATA" \
            ${POSTGRES_INITDB_ARGS:-} >/dev/null
        rm -f "$pwfile"
        printf '\nhost all all all %s\n' "${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}" >> "$PGDATA/pg_hba.conf"
        pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -c unix_socket_directories=/var/run/postgresql" -w start >/dev/null
        if [ "$POSTGRES_DB" != postgres ]; then
            psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres -h /var/run/postgresql \
                -c "CREATE DATABASE \"$POSTGRES_DB\"" >/dev/null
        fi
        for f in /docker-entrypoint-initdb.d/*; do
            case "$f" in
                *.sh) echo "running $f"
                    # shellcheck disable=SC1090 # init scripts are the user's
                    . "$f" ;;
                *.sql) echo "running $f"; psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d "$POSTGRES_DB" -h /var/run/postgresql -f "$f" ;;
            esac
        done
        pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
        echo "PostgreSQL init process complete; ready for start up."
    fi
    exec postgres -c listen_addresses='*' -c unix_socket_directories=/var/run/postgresql "${@:2}"
fi
exec "$@"
