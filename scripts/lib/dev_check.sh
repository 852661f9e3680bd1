# shellcheck shell=bash
# Checks scripts/dev as a person uses it: started on a data directory and a port of its own, the
# story runs against it (local-dev's `against_scripts_dev_*` tests), and so do the widget's
# browser tests (web.sh); stopping it as Ctrl-C does stops it and
# every service it started; started again on the same data, the tenant logs in and the
# conversation is all there. scripts/test runs it after the test suite.
#
# Source services.sh (for free_port, say, die) and web.sh before this file, then call `dev_check`.

_dev_pid=""
_dev_log=""
# Every browser test's visitors and agents come from 127.0.0.1: more conversations than a
# visitor's 10 a minute, more sign-ups and sign-ins than an address's 50 in 15 minutes. The
# reports are recomputed every 2 seconds, so the analytics pages show the tests' own figures.
_dev_env=(PARLEY_SESSIONS_PER_IP_PER_MINUTE=600 PARLEY_LOGIN_LIMIT_PER_IP=1000 PARLEY_REPORT_INTERVAL_SECS=2)

# Starts scripts/dev and waits for its banner.
_dev_start() {
    local data=$1 port=$2
    start_script dev "$_dev_log" "${_dev_env[@]}" PARLEY_DATA_DIR="$data" PARLEY_HTTP_ADDR="127.0.0.1:$port"
    _dev_pid=$SCRIPT_PID
}

# Stops scripts/dev as Ctrl-C does; fails unless it exits cleanly and leaves no process of its
# data directory behind.
_dev_stop() {
    local data=$1
    stop_script "$_dev_pid" dev "$_dev_log"
    if pgrep -f "$data" >/dev/null; then
        pgrep -af "$data" >&2
        die "scripts/dev left processes running after Ctrl-C (above)"
    fi
}

_dev_story() {
    local test=$1 port=$2 told=$3
    PARLEY_DEV_URL="http://127.0.0.1:$port" PARLEY_DEV_TOLD="$told" \
        cargo test --locked -p local-dev --test local_dev -- --ignored --exact "story::$test" || {
        kill -TERM "$_dev_pid" 2>/dev/null
        tail -n 40 "$_dev_log" >&2
        die "the story failed against scripts/dev (its log above)"
    }
}

dev_check() {
    local data port
    data=$(mktemp -d "${TMPDIR:-/tmp}/parley-dev-check.XXXXXX")
    port=$(free_port)
    _dev_log=$data.log
    say "scripts/dev: the story against it"
    _dev_start "$data" "$port"
    _dev_story against_scripts_dev_the_story_runs "$port" "$data.told.json"
    web_browser_tests "http://127.0.0.1:$port" || {
        kill -TERM "$_dev_pid" 2>/dev/null
        die "the widget's browser tests failed against scripts/dev"
    }
    _dev_stop "$data"
    say "scripts/dev: stopped with Ctrl-C, started again on the same data"
    _dev_start "$data" "$port"
    _dev_story against_scripts_dev_a_restart_finds_everything_again "$port" "$data.told.json"
    _dev_stop "$data"
    services_forget "$data/services"
    rm -rf "$data" "$data.log" "$data.told.json"
}
