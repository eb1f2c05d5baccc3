#!/bin/sh
# Entrypoint of the Sprintboard image: every role (web, worker, beat, migrate)
# passes its command as arguments, e.g.
#   gunicorn config.wsgi:application ...   celery -A config worker ...
#   python manage.py migrate --noinput
set -eu

# prometheus_client's multiprocess mode keeps one file per process in this
# directory; files left from an earlier run of the container would be counted
# again, so start from an empty one. Only its *.db files are removed.
if [ -n "${PROMETHEUS_MULTIPROC_DIR:-}" ]; then
    mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
    find "$PROMETHEUS_MULTIPROC_DIR" -maxdepth 1 -type f -name '*.db' -delete
fi

exec "$@"
