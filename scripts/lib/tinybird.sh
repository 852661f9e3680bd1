# shellcheck shell=bash
# The check of infra/tinybird's datafiles without Tinybird: `tb fmt --diff`, from Tinybird's own CLI
# (the venv provision_tinybird makes), parses each file with Tinybird's parser and fails when the
# file is not written the way Tinybird formats it. A syntax error, an unknown column type or a
# template that does not compile fails it too. It needs no login and no network: no version check
# (TB_VERSION_WARNING=0), and it runs with an empty HOME, so no .tinyb of yours is read.
#
# Source services.sh before this file; scripts/test calls `tinybird_check`. To rewrite every file
# the way Tinybird formats it: `scripts/test --tinybird-format`, or
# `bash -c 'source scripts/lib/services.sh; source scripts/lib/tinybird.sh; tinybird_format'`.

TINYBIRD_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../infra/tinybird" && pwd)

# The datafiles, one a line, relative to the current directory where they are under it.
_tinybird_files() {
    find "$TINYBIRD_DIR/datasources" "$TINYBIRD_DIR/pipes" -type f \( -name '*.datasource' -o -name '*.pipe' \) |
        sort | sed "s|^$PWD/||"
}

# Runs Tinybird's CLI offline: `_tinybird_tb fmt ...`.
_tinybird_tb() {
    local home status=0
    home=$(mktemp -d)
    HOME=$home TB_VERSION_WARNING=0 "$TINYBIRD_VENV/bin/tb" --no-version-warning "$@" || status=$?
    rm -rf "$home"
    return "$status"
}

# Fails naming every datafile Tinybird's formatter would change or cannot parse, with the diff.
tinybird_check() {
    provision_tinybird
    say "checking infra/tinybird's datafiles with Tinybird's parser and formatter (tb fmt --diff)"
    local file out failed=()
    out=$(mktemp)
    while IFS= read -r file; do
        _tinybird_tb fmt --diff --no-color "$file" >"$out" 2>&1 || {
            # tb's own hint names its bare command; ours, below, names this venv's.
            grep -v -e 'need to be formatted, run the commands below' -e '^tb fmt .* --yes$' "$out" >&2
            failed+=("$file")
        }
    done < <(_tinybird_files)
    rm -f "$out"
    ((${#failed[@]} == 0)) && return
    {
        echo "To write a file as Tinybird formats it (a parse error needs fixing by hand first):"
        for file in "${failed[@]}"; do
            echo "    $TINYBIRD_VENV/bin/tb --no-version-warning fmt --yes $file"
        done
        echo "or all of them: scripts/test --tinybird-format"
    } >&2
    die "${#failed[@]} Tinybird datafile(s) are not as Tinybird formats them, or do not parse: ${failed[*]}"
}

# Rewrites every datafile as Tinybird formats it (comments starting with # are dropped: use
# DESCRIPTION). A file that does not parse is left as it is and named.
tinybird_format() {
    provision_tinybird
    local file out failed=()
    out=$(mktemp)
    while IFS= read -r file; do
        if _tinybird_tb fmt --yes "$file" >"$out" 2>&1; then
            say "formatted $file"
        else
            cat "$out" >&2
            failed+=("$file")
        fi
    done < <(_tinybird_files)
    rm -f "$out"
    ((${#failed[@]} == 0)) || die "Tinybird could not parse: ${failed[*]}"
}
