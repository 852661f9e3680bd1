# shellcheck shell=bash
# The check of local-dev/compose.yaml (the stack for a machine with Docker) on machines without
# Docker: scripts/services/compose-check loads it with compose-go, the library Docker Compose
# itself reads files with, validating it against the Compose specification's schema and its
# consistency rules with and without profiles, then holds it to Parley's own: images pinned to a
# tag, published ports on 127.0.0.1 only, a healthcheck on every service (`up --wait`), a default
# for every variable. It cannot pull the images or start them.
#
# The checker is built once from the Go module proxy and cached in $PARLEY_CACHE_DIR, keyed by
# the hash of its source, so an edit to it rebuilds it and an unchanged one never does.
#
# Source common.sh (or services.sh) before this file; scripts/test calls `compose_check`.

COMPOSE_CHECK_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../services/compose-check" && pwd)
COMPOSE_FILE=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../local-dev" && pwd)/compose.yaml

# Builds the checker unless this source's build is cached; sets COMPOSE_CHECK_BIN.
provision_compose_check() {
    local hash
    hash=$(cd "$COMPOSE_CHECK_SRC" && sha256sum go.mod go.sum ./*.go | sha256sum | cut -c1-16)
    COMPOSE_CHECK_BIN=$PARLEY_CACHE_DIR/compose-check-$hash/compose-check
    [ -x "$COMPOSE_CHECK_BIN" ] && return
    command -v go >/dev/null || die "Go is needed to build scripts/services/compose-check (see README)"
    say "building scripts/services/compose-check from the Go module proxy (once; cached in $PARLEY_CACHE_DIR)"
    # Builds of an older source are of no further use.
    rm -rf "$PARLEY_CACHE_DIR"/compose-check-*
    mkdir -p "$(dirname "$COMPOSE_CHECK_BIN")"
    (cd "$COMPOSE_CHECK_SRC" && GOFLAGS="-mod=mod -buildvcs=false" go build -trimpath -o "$COMPOSE_CHECK_BIN.tmp" .) ||
        die "could not build scripts/services/compose-check"
    mv "$COMPOSE_CHECK_BIN.tmp" "$COMPOSE_CHECK_BIN"
}

# Checks local-dev/compose.yaml, or the file given; each problem is printed on a line of its own.
compose_check() {
    local file=${1:-$COMPOSE_FILE}
    provision_compose_check
    say "checking ${file#"$PWD"/} against the Compose specification (no Docker needed)"
    "$COMPOSE_CHECK_BIN" "$file" || die "${file#"$PWD"/} is not a valid Compose file for Parley (problems above)"
}
