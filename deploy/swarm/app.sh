#!/usr/bin/env bash
# The app's pipeline on a Swarm, for GitHub (app.yml), GitLab (.gitlab/ci/app.yml) and make
# test-swarm alike (lib.sh: what site.sh shares). app.sh publish|verify|migrate|deploy|smoke|release
# publish builds each image once and pushes it by digest; CI scans and signs those, and verify
# checks the signatures. release = migrate (a one-off job of the new image), deploy, smoke; a failed
# update is rolled back by Swarm and deploy puts every other service back on the images it ran,
# then fails. Environment (and lib.sh's): APP_REPO, WEB_REPO, DB_REPO, where publish pushes;
# APP_IMAGE, WEB_IMAGE, the digests (default: what publish recorded); DB_IMAGE, the data tier's
# (deploy/postgres), for the first release only: it makes the data stack (data.yml), which no later
# one touches (docs/operations.md); STACK (loandesk; never the site's: --prune would remove its
# services), and DATA_STACK (STACK-data); STACK_OVERRIDES and DATA_OVERRIDES, compose files
# deployed over app.yml and data.yml (rehearsal.yml, rehearsal-data.yml); MIGRATE_TIMEOUT,
# seconds (1800: an index at 10M requests takes minutes).
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

# publish: each app image built ONCE and pushed by digest (with its SBOM
# and provenance when ATTEST=1); the digests go to $STATE_DIR/app-image and
# $STATE_DIR/web-image, which the later stages (scan, sign, verify, release)
# read when APP_IMAGE and WEB_IMAGE are not set.
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
            db) repo=$DB_REPO args=(--build-arg "POSTGRES_IMAGE=$POSTGRES_IMAGE" "$root/deploy/postgres") ;;
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

# migrate: the new image's migrations, as a one-off Swarm job on the backend
# network, as the schema's owner (granting the app's role the tables). They must work
# with the previous release's code (expand, then contract): the old tasks keep running.
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

# deploy: exactly these digests; every service converges, or the ones
# that did go back to the images they ran before and the pipeline fails.
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

case ${1:-} in
    publish) app_publish ;;
    verify) app_verify ;;
    migrate) app_migrate ;;
    deploy) app_deploy ;;
    smoke) app_smoke ;;
    release) app_release ;;
    *) echo "usage: $0 publish|verify|migrate|deploy|smoke|release" >&2; exit 2 ;;
esac
