# shellcheck shell=bash
# The web clients under socket-node/web (the widget): installing their npm packages, checking,
# building, and their browser tests in Debian's Chromium. scripts/dev builds them; scripts/test
# checks and builds them first, and runs the browser tests against scripts/dev (dev_check.sh).
#
# Source common.sh (or services.sh) before this file.

WEB_DIR=$PWD/socket-node/web
export PARLEY_WEB_DIR=$WEB_DIR/dist

# `npm ci`, from the npm cache outside the clone, and only when package-lock.json changed.
web_install() {
    command -v npm >/dev/null || die "npm is missing: install Node.js 20 or later (see README)"
    local stamp=$WEB_DIR/node_modules/.parley-lock
    local lock
    lock=$(sha256sum "$WEB_DIR/package-lock.json" | cut -d' ' -f1)
    [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$lock" ] && return 0
    say "npm ci (socket-node/web)"
    # Browsers are never downloaded: the tests drive Debian's Chromium.
    (cd "$WEB_DIR" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --prefer-offline \
        --cache "$PARLEY_CACHE_DIR/npm" --loglevel=error >&2) || die "npm ci failed in socket-node/web"
    echo "$lock" >"$stamp"
}

# Builds the widget into socket-node/web/dist and prints its sizes against the budgets.
web_build() {
    web_install
    say "building the widget"
    (cd "$WEB_DIR" && npm run --silent build) || die "the widget did not build"
}

# The console's API types generated from the OpenAPI documents, the type check and Biome
# (format and lint): `npm run check`.
web_check() {
    web_install
    say "tsc and biome (socket-node/web)"
    (cd "$WEB_DIR" && npm run --silent check) || die "socket-node/web has type, format or lint errors"
}

ensure_chromium() {
    command -v chromium >/dev/null || apt_install chromium
}

# The browser tests against a running Parley at $1. Screenshots are kept outside the clone, in
# $PARLEY_CACHE_DIR/artefacts/widget, to be looked at.
web_browser_tests() {
    local url=$1
    ensure_chromium
    local shots=$PARLEY_CACHE_DIR/artefacts/widget
    rm -rf "$shots"
    say "browser tests (Chromium) against $url"
    (cd "$WEB_DIR" && PARLEY_URL=$url PARLEY_SCREENSHOTS=$shots npx playwright test) || return 1
    say "screenshots: $shots"
}
