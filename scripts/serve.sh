#!/usr/bin/env bash
# The production stack on one node (`make serve`; README "Deployment"):
#   DATABASE_URL=postgres://… CAMPUSMEDIA_ENV=production DJANGO_SECRET_KEY=… \
#   CAMPUSMEDIA_FIELD_KEY=… CAMPUSMEDIA_HMAC_KEY=… DJANGO_ALLOWED_HOSTS=… scripts/serve.sh
# Installs what is missing, migrates, collects the static files, compiles the translations, then
# runs the tasks worker (manage.py db_worker) in the background and gunicorn (gunicorn.conf.py:
# HOST, PORT, WEB_CONCURRENCY …) in the foreground. When either stops, or on SIGINT/SIGTERM, both
# are stopped and the script exits.
set -euo pipefail
cd "$(dirname "$0")/.."

case "${DATABASE_URL:-}" in
    postgres://* | postgresql://* | pgsql://*) ;;
    "")
        echo "serve: DATABASE_URL is not set; the production stack needs PostgreSQL," >&2
        echo "       e.g. DATABASE_URL=postgres://campusmedia:secret@db.example.edu.cn:5432/campusmedia" >&2
        exit 2
        ;;
    *)
        echo "serve: DATABASE_URL must point at PostgreSQL (postgres://…), not '${DATABASE_URL%%:*}'" >&2
        exit 2
        ;;
esac

PY=.venv/bin/python
# The pinned packages and the Debian packages of `make run` (RUN_PACKAGES, read from the Makefile
# so the list is kept in one place).
make -s --no-print-directory .venv/.installed
# shellcheck disable=SC2046  # one word per package
scripts/system-packages.sh $(make -s --no-print-directory \
    --eval='print-run-packages: ; @echo $(RUN_PACKAGES)' print-run-packages)

# Background tasks go through the database, where the worker below picks them up (the web
# workers enqueue, so they need the same setting).
export CAMPUSMEDIA_TASKS_BACKEND=database

$PY manage.py migrate --noinput -v0
$PY manage.py collectstatic --noinput -v0
$PY manage.py compilemessages -v0 --ignore=.venv

worker_pid=""
web_pid=""
stopping=""
stop() {
    stopping=1
    local pid
    for pid in $web_pid $worker_pid; do
        kill -TERM "$pid" 2>/dev/null || true
    done
}
finish() {
    stop
    # Let both finish what they are doing (gunicorn's graceful timeout, the current task).
    if [ -n "$web_pid" ]; then wait "$web_pid" 2>/dev/null || true; fi
    if [ -n "$worker_pid" ]; then wait "$worker_pid" 2>/dev/null || true; fi
}
trap stop INT TERM
trap finish EXIT

$PY manage.py db_worker --no-reload &
worker_pid=$!
# gunicorn runs as a child the script waits for, rather than exec'd, so that the worker is
# stopped when gunicorn exits and a SIGTERM sent to this script alone reaches both.
.venv/bin/gunicorn -c gunicorn.conf.py campusmedia.wsgi &
web_pid=$!

status=0
# Returns when either process ends, or as soon as a trapped signal has been handled.
wait -n "$web_pid" "$worker_pid" || status=$?
if [ -n "$stopping" ]; then
    # Asked to stop: gunicorn's own exit status says whether it stopped cleanly.
    status=0
    wait "$web_pid" 2>/dev/null || status=$?
    [ "$status" -eq 127 ] && status=0  # already reaped by `wait -n`
elif kill -0 "$web_pid" 2>/dev/null; then
    echo "serve: the tasks worker stopped (exit $status); stopping gunicorn" >&2
    status=1
else
    echo "serve: gunicorn stopped (exit $status); stopping the tasks worker" >&2
fi
exit "$status"
