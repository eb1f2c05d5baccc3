"""The Celery app. Without REDIS_URL, settings make every task run eagerly in process."""

import os

from celery import Celery
from celery.signals import task_failure, task_postrun, task_prerun, worker_process_init

from apps.reports import memory
from apps.web import metrics

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("sprintboard")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Workers count and time every task into Redis, where the web pods' /metrics reads them.
task_prerun.connect(metrics.task_started)
task_postrun.connect(metrics.task_finished)
task_failure.connect(metrics.task_failed)
# A prefork pool process runs one task at a time: there, and only there, a report's memory cap binds.
worker_process_init.connect(memory.enforce_in_this_process)


@app.task(name="sprintboard.ping")
def ping_task() -> str:
    """Does nothing: proves that a worker takes tasks from the broker (deploy tests, smoke checks)."""
    return "pong"
