# shellcheck shell=bash
# The service harness: provisions, starts on free loopback ports, health-checks and stops the real
# services Parley's tests talk to.
#
#   Redis     Debian's redis-server (installed with apt-get when missing)
#   MongoDB   FerretDB 1.24.2 on PostgreSQL (Debian's, installed with apt-get when missing), built
#             from the Go module proxy. PARLEY_FERRETDB_BACKEND=sqlite runs it on SQLite instead:
#             measured with scripts/bench/delivery, PostgreSQL carries 5x the messages (100 msg/s
#             within the 50 ms p99 against under 20), and SQLite's reads slow down as data grows.
#   Kafka     Apache Kafka 3.9.1 in single-node KRaft mode, assembled from Maven Central
#   SMTP      Mailpit 1.33.1, built from the Go module proxy: an SMTP server that keeps every
#             message and shows it over HTTP (tests read mail back through its API)
#   Tinybird  a stand-in for Tinybird's HTTP API (scripts/services/tinybird/standin.py) on chDB,
#             ClickHouse inside a Python process, serving infra/tinybird's datasources and pipes;
#             chDB and Tinybird's CLI are installed from PyPI into a venv
#
# Source this file, call `services_start`, and `services_stop` when done (scripts/test traps it).
# `services_start` exports PARLEY_MONGODB_URL, PARLEY_REDIS_URL and PARLEY_KAFKA_BROKERS, and
# PARLEY_KAFKA_LIBS: the directory of Kafka's jars, from which tests start private brokers they can
# stop and restart (shared::testing::PrivateKafka, which repeats start_kafka's command line and
# properties: keep the two alike). It also exports PARLEY_SMTP_HOST and PARLEY_SMTP_PORT (Mailpit's
# SMTP side), PARLEY_MAILPIT_URL (its HTTP API and web UI) and PARLEY_MAILPIT_BIN (from which tests
# start private SMTP servers: shared::testing::PrivateMailpit). For the Tinybird stand-in it exports
# PARLEY_TINYBIRD_STANDIN_URL, PARLEY_TINYBIRD_STANDIN_APPEND_TOKEN (may only append rows) and
# PARLEY_TINYBIRD_STANDIN_READ_TOKEN (may only read pipes): not the PARLEY_TINYBIRD_* names that
# configure Parley itself, so no test streams to it by accident (scripts/dev maps them).
# When MONGODB_URL, REDIS_URL or KAFKA_BROKERS is already set, that service is used as it is and
# nothing is started for it (Kafka's jars are provisioned all the same, for the private brokers).
#
# Downloads and builds are cached in $PARLEY_CACHE_DIR (default ~/.cache/parley), outside the
# clone, so a second run starts in seconds. Each run keeps its data in a fresh directory under
# $PARLEY_CACHE_DIR/runs that `services_stop` removes, unless PARLEY_SERVICES_DIR names a
# directory to keep (scripts/dev): then FerretDB's, Kafka's, Mailpit's and the Tinybird stand-in's
# data stay there between runs, and so do the ports, which are reused while they are free, and the
# stand-in's tokens (in a file only its owner can read). PostgreSQL will not run as
# root: as root its data lives under /var/tmp/parley-postgres (where the postgres user can reach
# it), keyed by the run's directory, and the server runs as that user.

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

FERRETDB_VERSION=v1.24.2
KAFKA_VERSION=3.9.1
MAILPIT_VERSION=v1.33.1
SERVICES_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../services" && pwd)

_services_pids=()
_services_run_dir=""
_services_postgres_dir=""
_services_keep=false

# A free TCP port on 127.0.0.1 (the kernel picks it; a race with another process is possible but
# the health check below would then fail loudly rather than talk to the wrong server).
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Waits until 127.0.0.1:$2 accepts connections, or fails naming $1 and its log.
wait_for_port() {
    local name=$1 port=$2 log=$3 pid=$4 deadline=$((SECONDS + ${5:-60}))
    until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 40 "$log" >&2
            die "$name exited during start-up (log above: $log)"
        fi
        if ((SECONDS > deadline)); then
            tail -n 40 "$log" >&2
            die "$name did not listen on 127.0.0.1:$port in time (log: $log)"
        fi
        sleep 0.2
    done
}

# The port of service $1: the one it had last time when the data is kept and that port is free,
# else a free one (remembered in ports.env when the data is kept).
service_port() {
    local name=$1 port="" file=$_services_run_dir/ports.env
    if $_services_keep && [ -f "$file" ]; then
        port=$(sed -n "s/^$name=//p" "$file")
        if [ -n "$port" ] && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            port=""
        fi
    fi
    # Each service a port of its own: a port just freed can be handed out again by the kernel.
    local taken=$_services_run_dir/ports.taken
    while [ -z "$port" ] || grep -qx "$port" "$taken" 2>/dev/null; do
        port=$(free_port)
    done
    echo "$port" >>"$taken"
    if $_services_keep; then
        { grep -v "^$name=" "$file" 2>/dev/null || true; echo "$name=$port"; } >"$file.tmp" && mv "$file.tmp" "$file"
    fi
    echo "$port"
}

# --- provisioning (idempotent, cached) -----------------------------------------------------------

provision_redis() {
    command -v redis-server >/dev/null || apt_install redis-server
}

# FerretDB's `go install .../cmd/ferretdb@version` builds a binary that panics at start because
# build/version/version.txt is not part of the module; we build the module source with it written in.
provision_ferretdb() {
    FERRETDB_BIN=$PARLEY_CACHE_DIR/ferretdb-$FERRETDB_VERSION/ferretdb
    [ -x "$FERRETDB_BIN" ] && return
    command -v go >/dev/null || die "Go is needed to build FerretDB (see README)"
    say "building FerretDB $FERRETDB_VERSION from the Go module proxy (once; cached in $PARLEY_CACHE_DIR)"
    local mod src
    mod=$(go mod download -json "github.com/FerretDB/FerretDB@$FERRETDB_VERSION" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])') ||
        die "could not download the FerretDB module"
    src=$(mktemp -d)
    cp -r "$mod/." "$src" && chmod -R u+w "$src"
    echo "$FERRETDB_VERSION" >"$src/build/version/version.txt"
    mkdir -p "$(dirname "$FERRETDB_BIN")"
    (cd "$src" && GOFLAGS=-buildvcs=false go build -trimpath -o "$FERRETDB_BIN.tmp" ./cmd/ferretdb) ||
        die "could not build FerretDB"
    mv "$FERRETDB_BIN.tmp" "$FERRETDB_BIN"
    rm -rf "$src"
}

provision_postgres() {
    POSTGRES_BIN=$(find /usr/lib/postgresql -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -1)
    [ -n "$POSTGRES_BIN" ] && return
    apt_install postgresql
    POSTGRES_BIN=$(find /usr/lib/postgresql -maxdepth 2 -name bin -type d | sort -V | tail -1)
    [ -n "$POSTGRES_BIN" ] || die "PostgreSQL's binaries are not under /usr/lib/postgresql"
}

provision_kafka() {
    KAFKA_LIBS=$PARLEY_CACHE_DIR/kafka-$KAFKA_VERSION/libs
    [ -f "$KAFKA_LIBS/.complete" ] && return
    command -v java >/dev/null || apt_install openjdk-17-jre-headless
    command -v mvn >/dev/null || apt_install maven
    say "assembling Apache Kafka $KAFKA_VERSION from Maven Central (once; cached in $PARLEY_CACHE_DIR)"
    rm -rf "$KAFKA_LIBS"
    mvn -q -B -Dstyle.color=never -f "$SERVICES_DIR/kafka/pom.xml" dependency:copy-dependencies \
        -Dkafka.version="$KAFKA_VERSION" -DincludeScope=runtime -DoutputDirectory="$KAFKA_LIBS" >&2 ||
        die "Maven could not fetch Apache Kafka $KAFKA_VERSION"
    touch "$KAFKA_LIBS/.complete"
}

provision_mailpit() {
    MAILPIT_BIN=$PARLEY_CACHE_DIR/mailpit-$MAILPIT_VERSION/mailpit
    [ -x "$MAILPIT_BIN" ] && return
    command -v go >/dev/null || die "Go is needed to build Mailpit (see README)"
    say "building Mailpit $MAILPIT_VERSION from the Go module proxy (once; cached in $PARLEY_CACHE_DIR)"
    mkdir -p "$(dirname "$MAILPIT_BIN")"
    GOBIN=$(dirname "$MAILPIT_BIN") GOFLAGS=-buildvcs=false go install -trimpath \
        "github.com/axllent/mailpit@$MAILPIT_VERSION" || die "could not build Mailpit"
}

# chDB and Tinybird's CLI in a venv of their own, keyed by the hash of requirements.txt, so an edit
# to it makes a new venv and an unchanged one is reused; pip's downloads are cached beside it.
provision_tinybird() {
    local requirements=$SERVICES_DIR/tinybird/requirements.txt hash
    hash=$(sha256sum "$requirements" | cut -c1-12)
    TINYBIRD_VENV=$PARLEY_CACHE_DIR/tinybird-$hash
    [ -f "$TINYBIRD_VENV/.complete" ] && return
    say "installing chDB and Tinybird's CLI from PyPI into a venv (once; cached in $PARLEY_CACHE_DIR)"
    # Venvs of an older requirements.txt are of no further use (each is about 1 GB).
    rm -rf "$PARLEY_CACHE_DIR"/tinybird-*
    mkdir -p "$PARLEY_CACHE_DIR"
    # Debian ships `python3 -m venv` (ensurepip) in a package of its own.
    python3 -m venv "$TINYBIRD_VENV" >/dev/null 2>&1 || {
        rm -rf "$TINYBIRD_VENV"
        apt_install python3-venv
        python3 -m venv "$TINYBIRD_VENV" >&2
    } || die "python3 -m venv could not make $TINYBIRD_VENV"
    PIP_CACHE_DIR=$PARLEY_CACHE_DIR/pip "$TINYBIRD_VENV/bin/pip" install --quiet --disable-pip-version-check \
        --no-input -r "$requirements" >&2 || die "pip could not install $requirements"
    touch "$TINYBIRD_VENV/.complete"
}

# --- start and stop ----------------------------------------------------------------------------

start_redis() {
    local port dir=$_services_run_dir/redis
    port=$(service_port redis)
    mkdir -p "$dir"
    redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no --dir "$dir" \
        --logfile "$dir/redis.log" --daemonize no >/dev/null 2>&1 &
    _services_pids+=($!)
    wait_for_port Redis "$port" "$dir/redis.log" $! 20
    redis-cli -p "$port" ping >/dev/null || die "Redis on port $port does not answer PING"
    export PARLEY_REDIS_URL=redis://127.0.0.1:$port
    say "Redis $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p') listening on 127.0.0.1:$port"
}

# Where the PostgreSQL data of the services in directory $1 lives: beside them, or as root where
# the postgres user can reach it.
postgres_dir() {
    if ((EUID == 0)); then
        echo "/var/tmp/parley-postgres/$(printf %s "$1" | sha1sum | cut -c1-12)"
    else
        echo "$1/postgres"
    fi
}

# Deletes the kept data of the services in directory $1 (PARLEY_SERVICES_DIR of a finished run).
services_forget() {
    rm -rf "$1" "$(postgres_dir "$1")"
}

# PostgreSQL for FerretDB: a cluster of its own on a free port, TCP on loopback only. Commits are
# not waited for on disk (synchronous_commit=off): a crash may lose the last moments, never
# corrupt the data.
start_postgres() {
    local port dir as=()
    port=$(service_port postgres)
    dir=$(postgres_dir "$_services_run_dir")
    mkdir -p "$dir"
    if ((EUID == 0)); then
        as=(setpriv --reuid=postgres --regid=postgres --init-groups)
        chown postgres: "$dir"
    fi
    _services_postgres_dir=$dir
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        "${as[@]}" "$POSTGRES_BIN/initdb" -D "$dir/data" -A trust -U postgres --no-sync >"$dir/initdb.log" 2>&1 ||
            { cat "$dir/initdb.log" >&2; die "initdb could not create PostgreSQL's data in $dir"; }
    fi
    "${as[@]}" "$POSTGRES_BIN/postgres" -D "$dir/data" -p "$port" -c listen_addresses=127.0.0.1 \
        -c unix_socket_directories= -c synchronous_commit=off >"$dir/postgres.log" 2>&1 &
    _services_pids+=($!)
    wait_for_port PostgreSQL "$port" "$dir/postgres.log" $! 30
    local ready=""
    for _ in $(seq 50); do
        "$POSTGRES_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" && ready=yes && break
        sleep 0.2
    done
    [ -n "$ready" ] || die "PostgreSQL on port $port does not accept connections (see $dir/postgres.log)"
    "$POSTGRES_BIN/psql" -h 127.0.0.1 -p "$port" -U postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = 'ferretdb'" | grep -q 1 ||
        "$POSTGRES_BIN/createdb" -h 127.0.0.1 -p "$port" -U postgres ferretdb ||
        die "could not create FerretDB's database in PostgreSQL"
    "$POSTGRES_BIN/psql" -q -h 127.0.0.1 -p "$port" -U postgres -d ferretdb -v ON_ERROR_STOP=1 \
        -f "$(dirname "${BASH_SOURCE[0]}")/../services/ferretdb/indexes.sql" >"$dir/indexes.log" 2>&1 ||
        { cat "$dir/indexes.log" >&2; die "could not give FerretDB's tables the indexes it can use"; }
    POSTGRES_URL=postgres://postgres@127.0.0.1:$port/ferretdb
    say "PostgreSQL $("$POSTGRES_BIN/postgres" --version | awk '{print $3}') listening on 127.0.0.1:$port (for FerretDB)"
}

start_ferretdb() {
    local port dir=$_services_run_dir/ferretdb backend=${PARLEY_FERRETDB_BACKEND:-postgresql} store=()
    port=$(service_port ferretdb)
    mkdir -p "$dir/data"
    case $backend in
        postgresql) store=(--handler=postgresql --postgresql-url="$POSTGRES_URL") ;;
        sqlite) store=(--handler=sqlite --sqlite-url="file:$dir/data/") ;;
        *) die "PARLEY_FERRETDB_BACKEND is postgresql or sqlite, not $backend" ;;
    esac
    "$FERRETDB_BIN" --listen-addr="127.0.0.1:$port" "${store[@]}" \
        --state-dir="$dir" --telemetry=disable --debug-addr=- --log-level=warn >"$dir/ferretdb.log" 2>&1 &
    _services_pids+=($!)
    wait_for_port FerretDB "$port" "$dir/ferretdb.log" $! 30
    export PARLEY_MONGODB_URL=mongodb://127.0.0.1:$port/
    say "FerretDB $FERRETDB_VERSION ($backend backend) listening on 127.0.0.1:$port"
}

# shared/src/testing/private_kafka.rs starts private brokers with this same command line and these
# properties; a change here belongs there too.
start_kafka() {
    local port controller_port dir=$_services_run_dir/kafka
    port=$(service_port kafka)
    controller_port=$(service_port kafka_controller)
    mkdir -p "$dir/data"
    cat >"$dir/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/data
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
EOF
    cat >"$dir/log4j.properties" <<EOF
log4j.rootLogger=WARN, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=$dir/kafka.log
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaServer=INFO
log4j.logger.kafka.server.BrokerServer=INFO
EOF
    local java=(java -Xms256m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1
        -Dlog4j.configuration="file:$dir/log4j.properties" -cp "$KAFKA_LIBS/*")
    # A cluster id is 16 random bytes in base64url; one starting with '-' would read as an option.
    local cluster_id
    cluster_id=$(python3 -c 'import base64, uuid
while (cid := base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="))[0] == "-": pass
print(cid)')
    # Kept data is formatted once; its cluster id is in meta.properties.
    if [ ! -f "$dir/data/meta.properties" ]; then
        "${java[@]}" kafka.tools.StorageTool format -t "$cluster_id" \
            -c "$dir/server.properties" >"$dir/format.log" 2>&1 ||
            { cat "$dir/format.log" >&2; die "kafka-storage format failed"; }
    fi
    "${java[@]}" kafka.Kafka "$dir/server.properties" >"$dir/stdout.log" 2>&1 &
    _services_pids+=($!)
    wait_for_port Kafka "$port" "$dir/stdout.log" $! 90
    export PARLEY_KAFKA_BROKERS=127.0.0.1:$port
    say "Apache Kafka $KAFKA_VERSION (KRaft, single node) listening on 127.0.0.1:$port"
}

# shared/src/testing/mailbox.rs starts private SMTP servers with this same command line.
start_mailpit() {
    local smtp_port http_port dir=$_services_run_dir/mailpit
    smtp_port=$(service_port mailpit_smtp)
    http_port=$(service_port mailpit_http)
    mkdir -p "$dir"
    "$MAILPIT_BIN" --smtp "127.0.0.1:$smtp_port" --listen "127.0.0.1:$http_port" \
        --database "$dir/mailpit.db" --max 0 --quiet >"$dir/mailpit.log" 2>&1 &
    _services_pids+=($!)
    wait_for_port Mailpit "$smtp_port" "$dir/mailpit.log" $! 20
    wait_for_port Mailpit "$http_port" "$dir/mailpit.log" $! 20
    export PARLEY_SMTP_HOST=127.0.0.1 PARLEY_SMTP_PORT=$smtp_port PARLEY_MAILPIT_URL=http://127.0.0.1:$http_port
    say "Mailpit $MAILPIT_VERSION: SMTP on 127.0.0.1:$smtp_port, web UI and API on $PARLEY_MAILPIT_URL"
}

# A token for the stand-in: random, URL-safe, never on a command line or in a log.
_tinybird_token() {
    python3 -c 'import secrets; print(secrets.token_urlsafe(32))'
}

# The Tinybird stand-in on infra/tinybird's datafiles. Its tokens are new each run; with kept data
# (scripts/dev) they are kept too, in tokens.env (mode 600), so what holds them keeps working.
start_tinybird() {
    local port dir=$_services_run_dir/tinybird append="" reader="" datafiles
    port=$(service_port tinybird)
    datafiles=$(cd "$SERVICES_DIR/../../infra/tinybird" && pwd)
    mkdir -p "$dir/data"
    if $_services_keep && [ -f "$dir/tokens.env" ]; then
        append=$(sed -n 's/^append=//p' "$dir/tokens.env")
        reader=$(sed -n 's/^read=//p' "$dir/tokens.env")
    fi
    if [ -z "$append" ] || [ -z "$reader" ]; then
        append=$(_tinybird_token)
        reader=$(_tinybird_token)
        if $_services_keep; then
            (umask 077 && printf 'append=%s\nread=%s\n' "$append" "$reader" >"$dir/tokens.env.tmp") &&
                mv "$dir/tokens.env.tmp" "$dir/tokens.env"
        fi
    fi
    TINYBIRD_STANDIN_APPEND_TOKEN=$append TINYBIRD_STANDIN_READ_TOKEN=$reader \
        "$TINYBIRD_VENV/bin/python" "$SERVICES_DIR/tinybird/standin.py" --port "$port" --data "$dir/data" \
        --datafiles "$datafiles" >"$dir/standin.log" 2>&1 &
    _services_pids+=($!)
    wait_for_port "Tinybird stand-in" "$port" "$dir/standin.log" $! 60
    export PARLEY_TINYBIRD_STANDIN_URL=http://127.0.0.1:$port
    export PARLEY_TINYBIRD_STANDIN_APPEND_TOKEN=$append PARLEY_TINYBIRD_STANDIN_READ_TOKEN=$reader
    say "Tinybird stand-in (chDB $(sed -n 's/^chdb==//p' "$SERVICES_DIR/tinybird/requirements.txt")) listening on $PARLEY_TINYBIRD_STANDIN_URL"
}

services_start() {
    if [ -n "${PARLEY_SERVICES_DIR:-}" ]; then
        _services_keep=true
        _services_run_dir=$PARLEY_SERVICES_DIR
        mkdir -p "$_services_run_dir"
    else
        mkdir -p "$PARLEY_CACHE_DIR/runs"
        _services_run_dir=$(mktemp -d "$PARLEY_CACHE_DIR/runs/run.XXXXXX")
    fi
    rm -f "$_services_run_dir/ports.taken"

    if [ -n "${REDIS_URL:-}" ]; then
        export PARLEY_REDIS_URL=$REDIS_URL
        say "Redis: using REDIS_URL as given"
    else
        provision_redis
        start_redis
    fi
    if [ -n "${MONGODB_URL:-}" ]; then
        export PARLEY_MONGODB_URL=$MONGODB_URL
        say "MongoDB: using MONGODB_URL as given"
    else
        provision_ferretdb
        if [ "${PARLEY_FERRETDB_BACKEND:-postgresql}" = postgresql ]; then
            provision_postgres
            start_postgres
        fi
        start_ferretdb
    fi
    provision_kafka
    export PARLEY_KAFKA_LIBS=$KAFKA_LIBS
    if [ -n "${KAFKA_BROKERS:-}" ]; then
        export PARLEY_KAFKA_BROKERS=$KAFKA_BROKERS
        say "Kafka: using KAFKA_BROKERS as given"
    else
        start_kafka
    fi
    provision_tinybird
    start_tinybird
    provision_mailpit
    export PARLEY_MAILPIT_BIN=$MAILPIT_BIN
    start_mailpit
}

services_stop() {
    local pid
    for pid in "${_services_pids[@]}"; do
        kill "$pid" 2>/dev/null
    done
    for pid in "${_services_pids[@]}"; do
        # Kafka needs a few seconds for a clean shutdown; anything still alive after that is killed.
        timeout 15 tail --pid="$pid" -f /dev/null 2>/dev/null || kill -9 "$pid" 2>/dev/null
    done
    _services_pids=()
    if [ -n "$_services_run_dir" ] && ! $_services_keep; then
        rm -rf "$_services_run_dir"
        [ -z "$_services_postgres_dir" ] || rm -rf "$_services_postgres_dir"
    fi
    _services_postgres_dir=""
    _services_run_dir=""
}
