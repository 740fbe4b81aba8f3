#!/usr/bin/env bash
# The app's pipeline on a Swarm, for GitHub (app.yml), GitLab (.gitlab/ci/app.yml) and make
# test-swarm alike (lib.sh: what site.sh shares). app.sh publish|verify|migrate|deploy|smoke|release|db-restore
# release = migrate (a one-off job of the new image), deploy, smoke; a failed update is rolled back
# by Swarm and deploy puts every other service back on the images it ran, then fails. Its
# environment: docs/swarm.md#the-pipelines-environment.
set -euo pipefail
# shellcheck source=deploy/swarm/lib.sh
. "$(dirname "$0")/lib.sh"
STACK=${STACK:-loandesk}
DATA_STACK=${DATA_STACK:-$STACK-data}
export DATA_NETWORK=${DATA_STACK}_backend
APP_IMAGE=${APP_IMAGE:-$(cat "$STATE_DIR/app-image" 2>/dev/null || true)}
WEB_IMAGE=${WEB_IMAGE:-$(cat "$STATE_DIR/web-image" 2>/dev/null || true)}
DB_IMAGE=${DB_IMAGE:-$(cat "$STATE_DIR/db-image" 2>/dev/null || true)}
export APP_IMAGE WEB_IMAGE DB_IMAGE VALKEY_IMAGE # docker stack deploy reads them (VALKEY_IMAGE: pinned in .env)
PROBE_IMAGE=$WEB_IMAGE # nginx's image: it has wget

stack() { # NAME FILE…: those compose files (relative to here) deployed as stack NAME
    local out name=$1 f
    local -a files=()
    for f in "${@:2}"; do files+=(-c "$f"); done
    if ! out=$(cd "$here" && docker stack deploy --with-registry-auth --prune "${files[@]}" "$name" 2>&1); then
        printf '%s\n' "$out" >&2
        die "docker stack deploy of $name failed"
    fi
}
# shellcheck disable=SC2086 # the overrides are a list of files
app_stack() { stack "$STACK" app.yml ${STACK_OVERRIDES:-}; }

# publish: each image built ONCE and pushed by digest (with SBOM and provenance when ATTEST=1) to
# $STATE_DIR/{app,web,db}-image, which the later stages read when APP_IMAGE… are not set.
app_publish() {
    : "${APP_REPO:?set APP_REPO, e.g. ghcr.io/owner/loandesk}" "${WEB_REPO:?set WEB_REPO, e.g. ghcr.io/owner/loandesk-web}"
    : "${DB_REPO:?set DB_REPO, e.g. ghcr.io/owner/loandesk-postgres}"
    mkdir -p "$STATE_DIR"
    local name repo tag ref
    local -a how args
    for name in app web db; do
        case $name in
            app) repo=$APP_REPO args=(--target loandesk --build-arg "GO_IMAGE=$GO_IMAGE" --build-arg "RUNTIME_IMAGE=$RUNTIME_IMAGE" "$root") ;;
            web) repo=$WEB_REPO args=(-f "$root/web/Dockerfile" --build-arg "NODE_IMAGE=$NODE_IMAGE" --build-arg "NGINX_IMAGE=$NGINX_IMAGE" "$root") ;;
            db) repo=$DB_REPO args=(--build-arg "GO_IMAGE=$GO_IMAGE" --build-arg "POSTGRES_IMAGE=$POSTGRES_IMAGE" "$root/deploy/postgres") ;;
        esac
        tag="$repo:sha-$REVISION"
        how=(--load)
        [ "${ATTEST:-0}" = 1 ] && how=("${attested[@]}" --metadata-file "$STATE_DIR/$name.json")
        log "build $tag"
        docker buildx build "${how[@]}" "${labels[@]}" -t "$tag" "${args[@]}"
        ref=$(pushed_ref "$repo" "$tag" "$STATE_DIR/$name.json")
        echo "$ref" >"$STATE_DIR/$name-image"
        log "pushed $ref"
    done
}

# migrate: the new image's migrations, a one-off job as the schema's owner (granting the app's role
# the tables). They must work with the previous release's code (expand, then contract).
app_migrate() {
    : "${APP_IMAGE:?set APP_IMAGE to the app image by digest}"
    local job="${STACK}_migrate" restarts=5
    docker service rm "$job" >/dev/null 2>&1 || true
    log "migrate with $APP_IMAGE"
    docker service create --detach --quiet --name "$job" --mode replicated-job --restart-condition on-failure \
        --restart-max-attempts "$restarts" --restart-delay 3s --network "$DATA_NETWORK" --no-healthcheck \
        --secret "source=${DB_PASSWORD_SECRET:-loandesk_db_password},target=db_password" \
        --env "APP_ENV=${APP_ENV:-production}" --env "DATABASE_PASSWORD_FILE=/run/secrets/db_password" \
        --env "DATABASE_URL=${MIGRATE_DATABASE_URL:-postgres://loandesk@pg1:5432,pg2:5432,pg3:5432/loandesk?sslmode=disable&target_session_attrs=read-write}" \
        --env "APP_DB_ROLE=${APP_DB_ROLE:-loandesk_app}" \
        --read-only --with-registry-auth "$APP_IMAGE" migrate >/dev/null
    # Done once a try completes; failed once the first try and every restart did.
    if ! swarmwait -timeout "${MIGRATE_TIMEOUT:-1800}s" job "$job"; then
        docker service logs --raw "$job" 2>&1 | tail -20 >&2
        docker service rm "$job" >/dev/null 2>&1 || true
        die "migrations did not complete"
    fi
    docker service rm "$job" >/dev/null
    log "migrate ok"
}

image_for() { # SERVICE APP WEB: the image that service runs
    if [ "$1" = web ]; then echo "$3"; else echo "$2"; fi
}

# deploy: exactly these digests; every service converges, or all go back and the pipeline fails.
app_deploy() {
    : "${APP_IMAGE:?set APP_IMAGE to the app image by digest}" "${WEB_IMAGE:?set WEB_IMAGE to the web image by digest}"
    local prev_app prev_web
    prev_app=$(docker service inspect -f '{{.Spec.TaskTemplate.ContainerSpec.Image}}' "${STACK}_api" 2>/dev/null || true)
    prev_web=$(docker service inspect -f '{{.Spec.TaskTemplate.ContainerSpec.Image}}' "${STACK}_web" 2>/dev/null || true)
    log "deploy api/worker $APP_IMAGE, web $WEB_IMAGE to stack $STACK on ${DOCKER_HOST:-the local engine}"
    registry_login "$APP_IMAGE"
    app_stack
    local s failed=""
    for s in api worker web; do
        await "${STACK}_$s" "$(image_for "$s" "$APP_IMAGE" "$WEB_IMAGE")" || { failed=$s; break; }
    done
    if [ -n "$failed" ]; then
        if [ -n "$prev_app" ]; then
            log "putting the stack back on $prev_app and $prev_web"
            APP_IMAGE=$prev_app WEB_IMAGE=$prev_web app_stack
            for s in api worker web; do
                await "${STACK}_$s" "$(image_for "$s" "$prev_app" "$prev_web")" || log "$s did not settle back"
            done
        fi
        die "the update of ${STACK}_$failed failed; the stack runs the previous release"
    fi
    log "deploy ok"
}

app_verify() { # every digest carries our CI's signature
    : "${APP_IMAGE:?set APP_IMAGE or run app.sh publish}" "${WEB_IMAGE:?set WEB_IMAGE or run app.sh publish}" "${DB_IMAGE:?set DB_IMAGE or run app.sh publish}"
    registry_login "$APP_IMAGE" # cosign reads private packages with the client's login
    verify_ref "$APP_IMAGE"
    verify_ref "$WEB_IMAGE"
    verify_ref "$DB_IMAGE"
}

app_smoke() { # the SPA from web, and the API's own contract through it
    log "smoke $PUBLIC_URL"
    local ok=""
    for _ in $(seq 1 30); do
        if http "$PUBLIC_URL/" | grep -q '<div id="root">' && http "$PUBLIC_URL/api/openapi.yaml" | grep -q '^openapi:'; then
            ok=1 && break
        fi
        sleep 1
    done
    [ -n "$ok" ] || die "$PUBLIC_URL does not serve the app"
    log "smoke ok"
}

app_release() {
    registry_login "$APP_IMAGE" # the data stack and the migrate job pull with it too
    if ! docker network inspect "$DATA_NETWORK" >/dev/null 2>&1; then
        # The first release makes the data tier (migrate waits for a primary).
        : "${DB_IMAGE:?set DB_IMAGE to the data tier image or run app.sh publish}"
        # shellcheck disable=SC2086
        stack "$DATA_STACK" data.yml ${DATA_OVERRIDES:-}
        for m in pg1 pg2 pg3; do swarmwait -timeout 300s running "${DATA_STACK}_$m" || die "$m did not start"; done
    fi
    app_migrate
    app_deploy
    app_smoke
}

# db-restore: a new PostgreSQL from the data tier's backups as the data was at TIME (e.g.
# TIME='2026-12-08 10:00:00+00'): the stack RESTORE_STACK (STACK-restore: restore.yml) beside the
# data tier, which goes on untouched (docs/operations.md: what next). Waits until it takes writes
# (RESTORE_WAIT, 3600s); a restore that fails stays, stopped, for its logs.
app_db_restore() {
    : "${TIME:?set TIME to the moment to restore to, e.g. TIME='2026-12-08 10:00:00+00'}"
    local name=${RESTORE_STACK:-$STACK-restore}
    DB_IMAGE=${DB_IMAGE:-$(docker service inspect -f '{{.Spec.TaskTemplate.ContainerSpec.Image}}' "${DATA_STACK}_backup" 2>/dev/null || true)}
    [ -n "$DB_IMAGE" ] || die "no image for the restore: set DB_IMAGE to the data tier's"
    ! docker service inspect "${name}_postgres" >/dev/null 2>&1 || die "$name exists: set RESTORE_STACK, or docker stack rm $name"
    log "restore the data as it was at $TIME into ${name}_postgres"
    export RESTORE_TIME=$TIME RESTORE_WAIT=${RESTORE_WAIT:-3600s}
    stack "$name" restore.yml
    if ! swarmwait -timeout "$RESTORE_WAIT" running "${name}_postgres"; then
        docker service logs --raw "${name}_postgres" 2>&1 | tail -20 >&2
        die "the restore to $TIME did not finish; ${name}_postgres is left for its logs"
    fi
    log "restore ok: ${name}_postgres (port 5432, network $DATA_NETWORK) holds the data as it was at $TIME"
}

case ${1:-} in
    publish) app_publish ;;
    verify) app_verify ;;
    migrate) app_migrate ;;
    deploy) app_deploy ;;
    smoke) app_smoke ;;
    release) app_release ;;
    db-restore) app_db_restore ;;
    *) echo "usage: $0 publish|verify|migrate|deploy|smoke|release|db-restore" >&2; exit 2 ;;
esac
