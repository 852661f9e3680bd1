# shellcheck shell=bash
# Dependency hygiene (dependency_check): the crates against the policy in deny.toml with
# cargo-deny, and the web clients' production packages with `npm audit --omit=dev`.
#
#   licences, bans, sources   always, offline: deny.toml's allowed licences, banned crates, no
#                             wildcard requirement, crates.io as the only source.
#   RustSec advisories        against the RustSec advisory database, cloned and cached by
#                             cargo-deny in ~/.cache/parley/advisory-dbs (deny.toml's db-path):
#                             refreshed from GitHub when GitHub answers, otherwise the cached copy
#                             is used and its date printed. Where no copy can be had at all (a
#                             fresh machine that cannot reach GitHub), this part is reported
#                             SKIPPED on one line and the run goes on: a check that cannot run is
#                             not a finding, and failing every run for it would only teach people
#                             to skip the step.
#   npm audit                 the production dependencies of socket-node/web (not the build and
#                             test tools) against the npm registry's advisories. A registry that
#                             refuses the audit endpoint (some mirrors answer 405) makes it
#                             SKIPPED the same way; no offline copy of npm's advisories is small
#                             enough to keep (GitHub's advisory database is several GB).
#
# Any finding (a vulnerable, unmaintained, unsound or yanked crate, a licence outside the list, a
# banned crate or source, a vulnerable npm package) fails the step.
#
# cargo-deny is built once from crates.io (several minutes) into $PARLEY_CACHE_DIR, pinned.
#
# Source common.sh and web.sh before this file, from the root of the clone; scripts/test calls
# `dependency_check`.

# Pinned, like every crate in Cargo.toml; a newer one may read deny.toml differently.
CARGO_DENY_VERSION=0.20.2
# deny.toml's db-path: cargo-deny clones each database into a directory named after its URL.
ADVISORY_DB_ROOT=$HOME/.cache/parley/advisory-dbs
# Older than this, the cached database is still used, with a warning.
ADVISORY_DB_OLD_DAYS=90

skipped() { printf '==> SKIPPED: %s\n' "$*" >&2; }

# Builds cargo-deny unless this version is cached; sets CARGO_DENY_BIN.
provision_cargo_deny() {
    local root=$PARLEY_CACHE_DIR/cargo-deny-$CARGO_DENY_VERSION
    CARGO_DENY_BIN=$root/bin/cargo-deny
    [ -x "$CARGO_DENY_BIN" ] && return
    say "building cargo-deny $CARGO_DENY_VERSION from crates.io (once, several minutes; cached in $PARLEY_CACHE_DIR)"
    rm -rf "$PARLEY_CACHE_DIR"/cargo-deny-* "$root.tmp"
    # cargo install builds in a temporary directory of its own (not the workspace's target) and
    # keeps only the binary.
    env -u CARGO_TARGET_DIR nice -n 10 cargo install cargo-deny --version "$CARGO_DENY_VERSION" --locked \
        --root "$root.tmp" --quiet >&2 || die "could not build cargo-deny $CARGO_DENY_VERSION"
    rm -f "$root.tmp"/.crates*.json "$root.tmp"/.crates*.toml
    mv "$root.tmp" "$root"
}

cargo_deny() { "$CARGO_DENY_BIN" deny --color never "$@"; }

# Prints the directories holding a clone of an advisory database, one a line.
advisory_db_dirs() {
    local git
    for git in "$ADVISORY_DB_ROOT"/*/.git; do
        [ -d "$git" ] && printf '%s\n' "${git%/.git}"
    done
    return 0
}

# The RustSec advisories, and yanked versions: refresh the database when GitHub answers, else use
# the cached one, else say SKIPPED.
advisories_check() {
    local log=$PARLEY_CACHE_DIR/advisory-db-fetch.log fetched=yes
    # Yanked versions are read from cargo's cached index entries, which a --locked build never
    # refreshes; a dry-run update does (and writes nothing). Offline, cargo's entries are used.
    timeout 120 cargo update --dry-run --quiet >/dev/null 2>&1 ||
        say "could not refresh cargo's index from crates.io: yanked versions are checked against cargo's cached index"
    mkdir -p "$ADVISORY_DB_ROOT"
    # cargo-deny clones or fetches with the git CLI; a failed fetch leaves the cached copy as it was.
    GIT_TERMINAL_PROMPT=0 timeout 120 "$CARGO_DENY_BIN" deny --color never fetch db >"$log" 2>&1 || fetched=no
    local dirs
    dirs=$(advisory_db_dirs)
    if [ -z "$dirs" ]; then
        skipped "RustSec advisories: the advisory database could not be fetched from GitHub and no copy is cached in $ADVISORY_DB_ROOT, so the crates were NOT checked for advisories or yanked versions (fetch log: $log)"
        return 0
    fi
    local dir url date age
    while read -r dir; do
        if ! date=$(git -C "$dir" log -1 --format=%cs) || ! url=$(git -C "$dir" remote get-url origin); then
            die "$dir is not a readable clone of an advisory database: remove it, the next run clones it again"
        fi
        age=$((($(date +%s) - $(git -C "$dir" log -1 --format=%ct)) / 86400))
        if [ "$fetched" = yes ]; then
            say "cargo deny check advisories ($url fetched now; newest change $date)"
        else
            say "cargo deny check advisories against the cached copy of $url of $date, $age days old (not reachable now; fetch log: $log)"
        fi
        ((age <= ADVISORY_DB_OLD_DAYS)) ||
            say "WARNING: that advisory database is $age days old: advisories published since $date are not known to this check"
    done <<<"$dirs"
    cargo_deny --offline check advisories || die "cargo-deny found crates with advisories or yanked versions (above); see deny.toml"
}

# `npm audit --omit=dev` in socket-node/web: fails on any advisory, says SKIPPED when the
# registry does not serve the audit endpoint.
npm_audit_check() {
    command -v npm >/dev/null || die "npm is missing: install Node.js 20 or later (see README)"
    say "npm audit --omit=dev (socket-node/web)"
    local report verdict status=0
    # npm exits non-zero both for findings and for a refused endpoint: the JSON tells them apart.
    report=$(cd "$WEB_DIR" && npm audit --omit=dev --json --cache "$PARLEY_CACHE_DIR/npm" 2>/dev/null) || true
    # shellcheck disable=SC2016 # the ${...} are JavaScript's
    verdict=$(node -e '
        let r;
        try { r = JSON.parse(require("fs").readFileSync(0, "utf8")); } catch { r = null; }
        if (r && r.auditReportVersion) {
            const vulns = Object.values(r.vulnerabilities || {});
            for (const v of vulns) {
                const why = v.via.map((x) => (typeof x === "string" ? `through ${x}` : `${x.title} ${x.url}`));
                console.log(`${v.name} ${v.range} (${v.severity}): ${why.join("; ")}`);
            }
            if (vulns.length > 0) process.exit(1);
            console.log("no known advisories in the production dependencies");
            process.exit(0);
        }
        // The audit endpoint refused (an HTTP error) or could not be reached: no verdict on the
        // packages. Anything else (no lock file, say) is a failure.
        if (r && r.message && (r.statusCode || r.message.includes("/-/npm/v1/security/"))) {
            console.log(r.message);
            process.exit(2);
        }
        console.log(r ? (r.error && r.error.summary) || r.message || JSON.stringify(r) : "npm printed no report");
        process.exit(3);
    ' <<<"$report") || status=$?
    case $status in
        0) say "npm audit: $verdict" ;;
        1)
            printf '%s\n' "$verdict" >&2
            die "npm audit found advisories in socket-node/web's production dependencies (above)"
            ;;
        2) skipped "npm audit: the registry did not serve its advisories ($verdict), so socket-node/web's packages were NOT checked" ;;
        *) die "npm audit failed in socket-node/web: $verdict" ;;
    esac
}

dependency_check() {
    provision_cargo_deny
    # cargo-deny reads the manifests of every crate in Cargo.lock, those of other platforms too,
    # which a build does not download.
    cargo fetch --locked --quiet || say "cargo fetch failed: checking the crates already downloaded"
    say "cargo deny check licenses bans sources (policy: deny.toml)"
    # Crates present in two versions are deny.toml's warnings, with the graphs that bring them in:
    # hundreds of lines on every run, so `cargo deny check bans` by hand shows them, not this.
    cargo_deny --offline check --allow duplicate licenses bans sources ||
        die "the crates break the dependency policy in deny.toml (above)"
    advisories_check
    npm_audit_check
}
