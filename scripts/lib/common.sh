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
