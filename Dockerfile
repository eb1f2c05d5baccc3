# syntax=docker/dockerfile:1
#
# One image for every Sprintboard role: web (gunicorn), Celery worker, Celery
# beat and migrations; the Helm chart picks the role with the container args.
#
#   docker build -t sprintboard .
#   docker run --rm -e DJANGO_SECRET_KEY=... -e DATABASE_URL=... -p 8000:8000 sprintboard
#
# Stages: `assets` fetches the browser libraries from npm (make static),
# `python-deps` installs the pinned requirements into a virtualenv, and the
# final stage copies both onto a clean slim Python: no compilers, no node, no
# make, no apt lists.

ARG PYTHON_VERSION=3.11
ARG NODE_VERSION=22

# --- Browser libraries -------------------------------------------------------
FROM node:${NODE_VERSION}-slim AS assets
# Build stage only, thrown away: pinning Debian package versions would only
# break the build when the archive moves on.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install --yes --no-install-recommends make \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# `make static` is the one place that says which dist files are served.
COPY Makefile package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm make static

# --- Python dependencies -----------------------------------------------------
FROM python:${PYTHON_VERSION}-slim AS python-deps
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_INPUT=1
RUN python -m venv /opt/venv
COPY requirements.txt /tmp/requirements.txt
RUN --mount=type=cache,target=/root/.cache/pip \
    /opt/venv/bin/pip install --requirement /tmp/requirements.txt

# --- Runtime -----------------------------------------------------------------
FROM python:${PYTHON_VERSION}-slim AS runtime
LABEL org.opencontainers.image.title="Sprintboard" \
      org.opencontainers.image.description="Agile sprint board for data-analytics teams"

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=config.settings \
    WEB_CONCURRENCY=2 \
    PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus

# The app runs as uid 10001 and owns nothing: code and static files belong to
# root and are read-only to it (the chart also mounts the root filesystem
# read-only, with an emptyDir on /tmp).
RUN groupadd --system --gid 10001 sprintboard \
 && useradd --system --uid 10001 --gid 10001 --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin sprintboard

COPY --from=python-deps /opt/venv /opt/venv
COPY docker/entrypoint.sh /usr/local/bin/sprintboard-entrypoint
WORKDIR /app
COPY . /app
COPY --from=assets /src/static/vendor/ /app/static/vendor/

# Static files are collected (hashed and compressed by whitenoise) at build
# time; the key is a placeholder that exists only for this command. Bytecode
# is compiled now because the read-only filesystem cannot take it later.
RUN rm -f /app/static/vendor/.installed \
 && DJANGO_SECRET_KEY=build-only-dummy python manage.py collectstatic --noinput \
 && python -m compileall -q /app

USER 10001:10001
EXPOSE 8000
ENTRYPOINT ["sprintboard-entrypoint"]
# The web role; gunicorn reads every setting from /app/gunicorn.conf.py (bind,
# WEB_CONCURRENCY workers, access log, Prometheus multiprocess mode, JSON logs).
# PROMETHEUS_MULTIPROC_DIR above lets its workers' metrics add up in /metrics.
CMD ["gunicorn", "config.wsgi:application"]
