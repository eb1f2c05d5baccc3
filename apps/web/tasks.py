"""Celery tasks of the web app: ``sessions_clear_task`` (the beat, daily) deletes expired sessions."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="apps.web.tasks.sessions_clear_task", ignore_result=True)
def sessions_clear_task() -> int:
    from apps.web.services import sessions_clear_expired

    return sessions_clear_expired()
