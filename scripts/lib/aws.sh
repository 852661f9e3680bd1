# shellcheck shell=bash
# AWS: the Python tools the deployment uses (cargo-lambda with zig, the SAM CLI, cfn-lint), each
# pinned in a virtual environment of its own under $PARLEY_CACHE_DIR/venv, and the template check
# (aws_template_check). scripts/deploy uses all of it; scripts/test runs the check.
#
# Source common.sh before this file, from the root of the clone.

AWS_TEMPLATE=infra/aws/template.yaml
# The SAM CLI reports usage to AWS unless told not to.
export SAM_CLI_TELEMETRY=0

# Pinned, like every crate in Cargo.toml. cargo-lambda's PyPI package brings zig (`ziglang`),
# the linker that targets Lambda's glibc; cfn-lint carries AWS's resource specifications, so a
# newer one can find new faults in an unchanged template.
# shellcheck disable=SC2034 # the first three are read by scripts/deploy
{
    CARGO_LAMBDA_VERSION=1.9.2
    ZIGLANG_VERSION=0.17.1
    SAM_CLI_VERSION=1.170.0
    CFN_LINT_VERSION=1.58.0
}

# Prints the bin directory of the virtual environment $PARLEY_CACHE_DIR/venv/$1, made (or made
# again) with exactly the requirements that follow when it does not hold them yet.
python_tool() {
    local name=$1
    shift
    local venv=$PARLEY_CACHE_DIR/venv/$name
    local stamp=$venv/.parley-requirements
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$*" ]; then
        python3 -c 'import ensurepip, venv' 2>/dev/null || apt_install python3-venv
        say "installing $* from PyPI into $venv"
        rm -rf "$venv"
        python3 -m venv "$venv" >&2 || die "python3 -m venv $venv failed"
        "$venv/bin/pip" install --quiet "$@" >&2 || die "pip could not install $*"
        echo "$*" >"$stamp"
    fi
    printf '%s\n' "$venv/bin"
}

# cfn-lint on infra/aws/template.yaml: CloudFormation's resources against AWS's specifications,
# SAM's against SAM's schemas. Any error or warning fails it.
aws_template_check() {
    local bin
    bin=$(python_tool cfn-lint "cfn-lint==$CFN_LINT_VERSION") || exit 1
    say "cfn-lint $CFN_LINT_VERSION ($AWS_TEMPLATE)"
    "$bin/cfn-lint" --non-zero-exit-code warning -- "$AWS_TEMPLATE" ||
        die "cfn-lint found faults in $AWS_TEMPLATE"
}
