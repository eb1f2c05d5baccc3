"""gunicorn settings for the web tier: the one place they are written.

gunicorn reads ./gunicorn.conf.py by itself, and the image's working directory is
the repository root, so the image's command and the chart's are both just
``gunicorn config.wsgi:application``.

- Binds SPRINTBOARD_BIND (default 0.0.0.0:8000) and, when SPRINTBOARD_OPS_PORT is
  set, the same host on that port: /readyz and /metrics are answered only there.
- WEB_CONCURRENCY sync workers (default 2), heartbeat files in /tmp (the pod's
  writable emptyDir; the root filesystem is read-only), access log on stdout.
  The workers are gunicorn's sync workers that close a connection at once after a
  request they read to its end, rather than waiting up to 2 s for the client's own
  close (config/gunicorn_worker.py).

- Prometheus multiprocess mode: with PROMETHEUS_MULTIPROC_DIR set, every worker
  writes its metrics to files there. The directory is emptied at start (also
  done by docker/entrypoint.sh, for runs that start gunicorn without it), and a
  worker that exits is marked dead so its live gauges stop counting.
- Each worker, once it has loaded the app, moves what it loaded out of the garbage
  collector's full passes (``gc.freeze``): Django, the apps and their modules (some
  150,000 objects) live as long as the worker, and every full pass walked all of them
  (~150 ms of CPU on a 2-core CI machine; one board render in about 20 waited for one).
- DJANGO_LOG_FORMAT=json makes gunicorn's own lines JSON too: one object per
  access-log line (method, path, status, duration...), and the startup and
  error lines through Django's JsonFormatter.
"""

from __future__ import annotations

import datetime
import gc
import json
import os
from pathlib import Path
from typing import Any

from gunicorn.glogging import Logger
from prometheus_client import multiprocess

METRICS_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")

bind = [os.environ.get("SPRINTBOARD_BIND", "0.0.0.0:8000")]
if ops_port := int(os.environ.get("SPRINTBOARD_OPS_PORT") or 0):
    bind.append(f"{bind[0].rpartition(':')[0]}:{ops_port}")
workers = int(os.environ.get("WEB_CONCURRENCY") or 2)
worker_class = "config.gunicorn_worker.SyncWorker"
worker_tmp_dir = "/tmp"  # noqa: S108 (the pod's own emptyDir, not a shared directory)
accesslog = "-"

# gunicorn 25+ opens a control socket under $HOME by default. Pods are managed by
# Kubernetes, and the image's home is read-only and absent: no socket.
control_socket_disable = True


def on_starting(server: Any) -> None:
    if METRICS_DIR:
        Path(METRICS_DIR).mkdir(parents=True, exist_ok=True)
        for stale in Path(METRICS_DIR).glob("*.db"):
            stale.unlink()


def post_worker_init(worker: Any) -> None:
    gc.collect()
    gc.freeze()


def child_exit(server: Any, worker: Any) -> None:
    if METRICS_DIR:
        multiprocess.mark_process_dead(worker.pid)


class JsonLogger(Logger):
    """gunicorn's logger, writing JSON objects instead of Apache-style lines."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        from config.logging import JsonFormatter

        for handler in self.error_log.handlers:
            handler.setFormatter(JsonFormatter())

    def access(self, resp: Any, req: Any, environ: dict, request_time: datetime.timedelta) -> None:
        if not self.access_log_enabled:
            return
        atoms = self.atoms(resp, req, environ, request_time)
        entry = {
            "time": datetime.datetime.now(datetime.UTC).isoformat(),
            "level": "INFO",
            "logger": "gunicorn.access",
            "message": f"{atoms['m']} {atoms['U']} {atoms['s']}",
            "method": atoms["m"],
            "path": atoms["U"],
            "query": atoms["q"],
            "status": int(atoms["s"]),
            "bytes": atoms["B"],
            "duration_seconds": request_time.total_seconds(),
            "remote_addr": atoms["h"],
            "forwarded_for": environ.get("HTTP_X_FORWARDED_FOR"),
            "user_agent": atoms["a"],
            "referer": atoms["f"],
            "protocol": atoms["H"],
        }
        self.access_log.info(json.dumps(entry, default=str))


if os.environ.get("DJANGO_LOG_FORMAT") == "json":
    logger_class = JsonLogger
