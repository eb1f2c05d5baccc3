"""Celery tasks retried while a service they need is down: one way to say how, for every app's tasks.

``retrying(errors, ...)`` is the options of a task that acks late (a worker killed mid-task leaves the message to
be redelivered; the services make a second run harmless) and is retried on ``errors`` with exponential backoff
and jitter. ``mail_task(name)`` declares a task that sends one message, retried for an hour or so while the SMTP
server refuses, the network is down or the database drops the connection.
"""

from __future__ import annotations

from collections.abc import Callable
from smtplib import SMTPException
from typing import Any

from celery import shared_task
from django.db import InterfaceError, OperationalError

# What a send may fail with for a while: the SMTP server or the network, and the database.
MAIL_ERRORS = (SMTPException, OSError, OperationalError, InterfaceError)


def retrying(
    errors: tuple[type[BaseException], ...], *, backoff: int, retries: int, backoff_max: int = 600
) -> dict[str, Any]:
    """``shared_task`` options: acks late; retried on ``errors`` up to ``retries`` times, the first after about
    ``backoff`` seconds, each wait doubling up to ``backoff_max`` seconds (with jitter)."""
    return {
        "acks_late": True,
        "autoretry_for": errors,
        "retry_backoff": backoff,
        "retry_backoff_max": backoff_max,
        "retry_jitter": True,
        "max_retries": retries,
    }


def mail_task(name: str) -> Callable[[Callable[..., Any]], Any]:
    """A bound Celery task named ``name`` that sends mail, retried on ``MAIL_ERRORS`` (5 s, 10 s ... 10 min)."""
    return shared_task(bind=True, name=name, **retrying(MAIL_ERRORS, backoff=5, retries=8))
