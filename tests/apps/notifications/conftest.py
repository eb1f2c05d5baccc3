"""A real SMTP server (aiosmtpd) on 127.0.0.1 for the e-mail tests, and Celery run in process."""

from __future__ import annotations

import email
import socket
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default

import pytest
from aiosmtpd.controller import Controller


@dataclass
class Delivered:
    sender: str
    recipients: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return self.message["Subject"]

    def body(self, subtype: str = "plain") -> str:
        return self.message.get_body(preferencelist=(subtype,)).get_content()


@dataclass
class Inbox:
    """What the SMTP server accepted, in order."""

    messages: list[Delivered] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=default)
        self.messages.append(Delivered(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Delivered]:
        return [m for m in self.messages if address in m.recipients]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SmtpServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.inbox = Inbox()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp(settings):
    """A running SMTP server that Django's e-mail goes to; ``smtp.stop()``/``start()`` take it down and back."""
    server = SmtpServer()
    server.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    settings.SPRINTBOARD_BASE_URL = "https://sprintboard.example.com"
    yield server
    server.stop()


@pytest.fixture
def eager_celery():
    """Tasks queued with .delay() run at once, in this process (the real task code, retries included)."""
    from config.celery import app

    saved = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield app
    app.conf.task_always_eager, app.conf.task_eager_propagates = saved


@pytest.fixture
def emails(people):
    """Everyone in ``people`` has an e-mail address."""
    for name, user in people.items():
        user.email = f"{name}@example.com"
        user.save(update_fields=["email"])
    return people
