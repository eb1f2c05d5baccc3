"""Celery tasks of the imports: each takes ids and calls a service (imported in the body: services import
this module to queue the task, never the other way round at import time)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="apps.imports.tasks.import_run_task", acks_late=True, max_retries=0)
def import_run_task(import_id: int) -> str:
    """Run a queued import. Idempotent: only the run that moves it from queued to running writes."""
    from apps.imports import services

    return services.import_run(import_id=import_id)
