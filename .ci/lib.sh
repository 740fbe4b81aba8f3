# shellcheck shell=bash
# Shared helpers for the .ci scripts (sourced, not run).
CI_CACHE=${CI_CACHE:-/var/cache/loandesk-ci}
mkdir -p "$CI_CACHE"

stage_start=0
stage() { # stage NAME: prints the previous stage's duration, then NAME
    local now; now=$(date +%s)
    if [ -n "${stage_name:-}" ]; then
        printf '== %-28s %4ds\n' "$stage_name" "$((now - stage_start))"
    fi
    stage_name=$1 stage_start=$now
    [ "$1" = "done" ] || printf '== %s ...\n' "$1"
}

log() { printf '   %s\n' "$*"; }
