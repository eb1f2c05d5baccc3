"""A real HTTP receiver on 127.0.0.1 for the webhook tests, and the real Celery worker of the report tests.

``receiver`` is ``http.server`` in a thread: it records every request (path, headers, body) and answers
with ``receiver.code`` after sleeping ``receiver.delay`` seconds. ``receiver.stop()`` closes its socket
(connections are refused) and ``receiver.start()`` opens it again on the same port.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.apps.reports.conftest import start_worker, wait_for  # noqa: F401 - fixtures shared with these tests


def verify(secret: str, body: bytes, signature: str, timestamp: str, *, tolerance: int = 300) -> bool:
    """The README's verification snippet, as a receiver would write it."""
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    fresh = abs(time.time() - int(timestamp)) <= tolerance
    return hmac.compare_digest(expected, signature) and fresh


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int

    @property
    def json(self) -> dict:
        return json.loads(self.body)


class Receiver:
    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.code = 200
        self.delay = 0.0
        self.location = ""
        self.port = 0
        self.server: ThreadingHTTPServer | None = None
        self.lock = threading.Lock()

    def handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                time.sleep(receiver.delay)
                code = receiver.code
                with receiver.lock:
                    receiver.requests.append(Received(self.path, dict(self.headers.items()), body, code))
                self.send_response(code)
                if receiver.location:
                    self.send_header("Location", receiver.location)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        return Handler

    def start(self) -> None:
        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), self.handler())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def delivered(self) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if 200 <= r.answered < 300]


@pytest.fixture
def receiver():
    receiver = Receiver()
    receiver.start()
    yield receiver
    receiver.stop()


@pytest.fixture
def allow_private(settings, monkeypatch):
    """The operator's override, for this process and for any worker the test starts."""
    settings.WEBHOOK_ALLOW_PRIVATE = True
    monkeypatch.setenv("SPRINTBOARD_WEBHOOK_ALLOW_PRIVATE", "1")
