#!/usr/bin/env bash
# Run a command against a throw-away PostgreSQL 15 cluster on 127.0.0.1, stopped afterwards:
#   scripts/with-postgres.sh .venv/bin/python -m pytest
# The command sees DATABASE_URL. Works as root (the cluster runs as user postgres) or as a user.
set -euo pipefail
bindir=/usr/lib/postgresql/15/bin
[ -x "$bindir/initdb" ] || bindir=$(dirname "$(command -v initdb)")
dir=$(mktemp -d /tmp/campusmedia-pg.XXXXXX)
port=${PGTEST_PORT:-$(( 54000 + RANDOM % 1000 ))}
as_pg() { if [ "$(id -u)" -eq 0 ]; then su postgres -s /bin/sh -c "cd / && $*"; else sh -c "$*"; fi; }
[ "$(id -u)" -eq 0 ] && chown postgres "$dir"
as_pg "$bindir/initdb -D $dir/data --auth=trust -U postgres -E UTF8 --locale=C.UTF-8 >/dev/null"
cleanup() {
    as_pg "$bindir/pg_ctl -D $dir/data -m fast -w stop >/dev/null" || true
    rm -rf "$dir"
}
trap cleanup EXIT
as_pg "$bindir/pg_ctl -D $dir/data -l $dir/log -w -o \"-k $dir -p $port -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off\" start >/dev/null"
echo "PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"
DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres" "$@"
