#!/usr/bin/env bash
# Lints every shell script and GitHub workflow in the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t scripts < <(find . \( -name node_modules -o -name .git \) -prune -o \( -name '*.sh' -o -path ./.ci/run \) -type f -print | sort)
echo "shellcheck: ${#scripts[@]} scripts"
shellcheck -x "${scripts[@]}"
if compgen -G ".github/workflows/*.yml" >/dev/null; then
    echo "actionlint: $(find .github/workflows -name "*.yml" | wc -l) workflows"
    actionlint -shellcheck=shellcheck
fi
go run ./tools/pincheck
echo "lint: ok"
