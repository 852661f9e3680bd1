# shellcheck shell=bash
# Checks scripts/stack, Parley's production topology behind nginx, as an operator meets it: it
# starts, the edge browser tests run against it over https and wss (socket-node/web/edge: a
# conversation that outlives a killed socket-node and a killed tenant replica), and Ctrl-C stops
# every process and service it started. scripts/test runs it after dev_check.
#
# Source services.sh (for say, die) and web.sh before this file, then call `stack_check`.

stack_check() {
    local dir log pid
    dir=$(mktemp -d "${TMPDIR:-/tmp}/parley-stack-check.XXXXXX")
    log=$dir.log
    say "scripts/stack: the real topology behind nginx, and the edge tests against it"
    start_script stack "$log" PARLEY_STACK_DIR="$dir"
    pid=$SCRIPT_PID

    ensure_chromium
    local shots=$PARLEY_CACHE_DIR/artefacts/edge url status=0
    rm -rf "$shots"
    url=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["url"])' "$dir/stack.json")
    (cd "$WEB_DIR" && PARLEY_URL=$url PARLEY_STACK_STATE=$dir/stack.json NODE_EXTRA_CA_CERTS=$dir/tls/ca.pem \
        PARLEY_SCREENSHOTS=$shots npx playwright test -c playwright.edge.config.ts) || status=$?
    if ((status != 0)); then
        say "the edge tests failed; the stack's logs are in $dir/logs"
        tail -n 20 "$dir"/logs/*.log >&2 || true
    fi

    # Ctrl-C stops everything it started.
    stop_script "$pid" stack "$log"
    local left
    left=$(python3 -c 'import json, sys; print(*(p["pid"] for p in json.load(open(sys.argv[1]))["processes"]))' \
        "$dir/stack.json")
    # shellcheck disable=SC2086 # a list of pids
    if pgrep -f "$dir" >/dev/null || ps -o pid= -p ${left// /,} >/dev/null; then
        pgrep -af "$dir" >&2 || true
        die "scripts/stack left processes running after Ctrl-C (nginx's above, or one of: $left)"
    fi
    ((status == 0)) || die "the edge tests failed against scripts/stack"
    say "screenshots: $shots"
    rm -rf "$dir" "$log"
}
