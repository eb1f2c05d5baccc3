"""The Celery app. Without REDIS_URL, settings make every task run eagerly in process."""

import os

from celery import Celery
from celery.signals import task_failure, task_postrun, task_prerun

from apps.web import metrics

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("sprintboard")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Workers count and time every task into Redis, where the web pods' /metrics reads them.
task_prerun.connect(metrics.task_started)
task_postrun.connect(metrics.task_finished)
task_failure.connect(metrics.task_failed)


@app.task(name="sprintboard.ping")
def ping_task() -> str:
    """Does nothing: proves that a worker takes tasks from the broker (deploy tests, smoke checks)."""
    return "pong"
