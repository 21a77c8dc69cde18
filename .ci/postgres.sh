#!/usr/bin/env bash
# A private, throw-away PostgreSQL cluster for the postgres test tier.
#
#   .ci/postgres.sh start        install Debian's postgresql if missing, initdb a cluster in a
#                                new temp dir, start it on a free port (unix socket only, in
#                                that dir), create database "actorswarm" and print
#                                    ACTORSWARM_TEST_POSTGRES_URL=postgresql+psycopg://...
#                                    ACTORSWARM_TEST_POSTGRES_DIR=<temp dir>
#   .ci/postgres.sh stop [DIR]   stop the cluster started in DIR (default:
#                                $ACTORSWARM_TEST_POSTGRES_DIR) by the PID in its PID file,
#                                and remove DIR; nothing else is touched
#
# As root the cluster runs as the "postgres" user (initdb refuses root); otherwise as the
# caller. Exit status 0 on success; 1 with a message on stderr when PostgreSQL cannot be
# installed or started (tests then skip).
set -euo pipefail

log() { echo "postgres.sh: $*" >&2; }
die() { log "$*"; exit 1; }

find_bindir() {
    local d
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [[ -x "$d/initdb" && -x "$d/pg_ctl" ]]; then echo "$d"; return 0; fi
    done
    if command -v pg_config >/dev/null 2>&1; then
        d="$(pg_config --bindir)"
        if [[ -x "$d/initdb" && -x "$d/pg_ctl" ]]; then echo "$d"; return 0; fi
    fi
    return 1
}

install_postgres() {
    [[ "$(id -u)" == 0 ]] || die "PostgreSQL is not installed and installing it needs root"
    command -v apt-get >/dev/null 2>&1 || die "PostgreSQL is not installed and apt-get is missing"
    log "installing Debian's postgresql (apt-get)"
    # do not let the package create and start its own 'main' cluster
    mkdir -p /etc/postgresql-common
    if [[ ! -e /etc/postgresql-common/createcluster.conf ]]; then
        echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.conf
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 || die "apt-get update failed"
    apt-get install -y -qq --no-install-recommends -o Dpkg::Options::=--force-confold \
        postgresql >&2 || die "apt-get install postgresql failed"
}

free_port() {
    python3 - <<'EOF'
import socket
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])
EOF
}

as_owner() {
    # run a command as the cluster's owner
    if [[ "$(id -u)" == 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

start() {
    local t0 bindir dir port url
    t0=$(date +%s.%N)
    bindir="$(find_bindir)" || { install_postgres; bindir="$(find_bindir)" \
        || die "no initdb/pg_ctl found after installing postgresql"; }
    if [[ "$(id -u)" == 0 ]]; then
        id postgres >/dev/null 2>&1 || die "user 'postgres' is missing (is postgresql installed?)"
    fi
    dir="$(mktemp -d "${TMPDIR:-/tmp}/actorswarm-pg.XXXXXX")"
    mkdir -p "$dir/data" "$dir/sock"
    chmod 700 "$dir/data" "$dir/sock"
    if [[ "$(id -u)" == 0 ]]; then
        chown -R postgres: "$dir"
    fi
    port="$(free_port)"
    as_owner "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 \
        --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; rm -rf "$dir"; die "initdb failed"; }
    cat >>"$dir/data/postgresql.conf" <<EOF
listen_addresses = ''
port = $port
unix_socket_directories = '$dir/sock'
max_connections = 200
shared_buffers = 128MB
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >&2 \
        || { cat "$dir/server.log" >&2 || true; as_owner "$bindir/pg_ctl" -D "$dir/data" \
             -m immediate stop >/dev/null 2>&1 || true; rm -rf "$dir"; die "pg_ctl start failed"; }
    as_owner "$bindir/createdb" -h "$dir/sock" -p "$port" -U postgres actorswarm \
        || { stop_dir "$dir"; die "createdb failed"; }
    echo "$bindir" > "$dir/bindir"
    url="postgresql+psycopg://postgres@/actorswarm?host=$dir/sock&port=$port"
    log "cluster up in $(python3 -c "print(round($(date +%s.%N) - $t0, 2))") s (dir $dir)"
    echo "ACTORSWARM_TEST_POSTGRES_URL=$url"
    echo "ACTORSWARM_TEST_POSTGRES_DIR=$dir"
}

stop_dir() {
    local dir="$1" pid bindir
    [[ -n "$dir" && -d "$dir" ]] || die "stop: no cluster directory ${dir:-given}"
    [[ -d "$dir/data" && "$(basename "$dir")" == actorswarm-pg.* ]] \
        || die "stop: $dir is not a cluster this script started"
    if [[ -f "$dir/data/postmaster.pid" ]]; then
        pid="$(head -n 1 "$dir/data/postmaster.pid")"
        bindir="$(cat "$dir/bindir" 2>/dev/null || find_bindir)"
        if ! as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 \
                && [[ "$pid" =~ ^[0-9]+$ ]] \
                && [[ "$(ps -o stat= -p "$pid" 2>/dev/null)" != Z* ]] \
                && [[ "$(ps -o comm= -p "$pid" 2>/dev/null)" == postgres* ]]; then
            log "postmaster $pid did not stop (pg_ctl stop failed); sending SIGQUIT"
            kill -QUIT "$pid" 2>/dev/null || true
            sleep 1
        fi
    fi
    rm -rf "$dir"
}

case "${1:-}" in
    start) start ;;
    stop) stop_dir "${2:-${ACTORSWARM_TEST_POSTGRES_DIR:-}}" ;;
    *) echo "usage: $0 start | stop [DIR]" >&2; exit 2 ;;
esac
