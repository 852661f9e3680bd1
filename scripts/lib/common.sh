# shellcheck shell=bash
# What every script under scripts/ shares: messages, the cache outside the clone, installing
# Debian packages, and the Rust toolchain's prerequisites.

PARLEY_CACHE_DIR=${PARLEY_CACHE_DIR:-$HOME/.cache/parley}
# Builds live in the cache too, so a fresh clone reuses them.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PARLEY_CACHE_DIR/target}

say() { printf '==> %s\n' "$*" >&2; }
die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

apt_install() {
    say "installing $* with apt-get"
    local sudo=()
    ((EUID == 0)) || sudo=(sudo)
    # Package lists may be missing on a fresh machine; fetch them once when an install fails.
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "$@" >&2 ||
        { "${sudo[@]}" apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "$@" >&2; } ||
        die "apt-get could not install $*"
}

# cargo, plus what rdkafka's bundled librdkafka needs to build: a C toolchain, make, perl and
# zlib's headers.
ensure_rust_toolchain() {
    command -v cargo >/dev/null || die "cargo is missing: install Rust with rustup (see README)"
    local missing=()
    command -v cc >/dev/null || missing+=(build-essential)
    command -v make >/dev/null || missing+=(make)
    command -v perl >/dev/null || missing+=(perl)
    command -v python3 >/dev/null || missing+=(python3)
    [ -f /usr/include/zlib.h ] || missing+=(zlib1g-dev)
    ((${#missing[@]} == 0)) || apt_install "${missing[@]}"
}

# Starts scripts/$1 in the background as a person would, its output to $2, with the VAR=VALUE
# pairs that follow; the services the caller points at are unset (the script starts its own).
# Returns once it prints its "Press Ctrl-C" banner, with its pid in SCRIPT_PID; fails naming it
# when it exits first or takes longer than 10 minutes.
start_script() {
    local name=$1 log=$2
    shift 2
    : >"$log"
    env -u MONGODB_URL -u REDIS_URL -u KAFKA_BROKERS -u PARLEY_MONGODB_URL -u PARLEY_REDIS_URL \
        -u PARLEY_KAFKA_BROKERS -u PARLEY_SMTP_HOST -u PARLEY_SMTP_PORT \
        -u PARLEY_TINYBIRD_STANDIN_URL -u PARLEY_TINYBIRD_STANDIN_APPEND_TOKEN -u PARLEY_TINYBIRD_STANDIN_READ_TOKEN \
        -u PARLEY_TINYBIRD_TOKEN -u PARLEY_TINYBIRD_URL -u PARLEY_TINYBIRD_READ_TOKEN \
        "$@" "scripts/$name" >"$log" 2>&1 &
    SCRIPT_PID=$!
    local deadline=$((SECONDS + 600))
    until grep -q '^Press Ctrl-C' "$log"; do
        kill -0 "$SCRIPT_PID" 2>/dev/null || { tail -n 40 "$log" >&2; die "scripts/$name exited during start-up (log above)"; }
        ((SECONDS < deadline)) || { tail -n 40 "$log" >&2; die "scripts/$name did not start in time"; }
        sleep 0.5
    done
}

# Stops the script start_script started (pid $1, scripts/$2, log $3) as Ctrl-C does, with SIGTERM,
# which it handles the same way (a background job of a script ignores SIGINT); fails unless it
# exits cleanly within 90 s.
stop_script() {
    local pid=$1 name=$2 log=$3
    kill -TERM "$pid"
    timeout 90 tail --pid="$pid" -f /dev/null || die "scripts/$name did not stop within 90 s of Ctrl-C"
    wait "$pid" || { tail -n 40 "$log" >&2; die "scripts/$name exited with an error after Ctrl-C"; }
}
