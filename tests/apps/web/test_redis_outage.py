"""Redis stops under a running server: every page keeps answering, and all recovers when it returns.

The server is a real one (``manage.py runserver`` in a subprocess, the test settings) on this test's
PostgreSQL database, with a private ``redis-server`` on a free port as its cache and Celery broker,
so stopping that Redis touches nobody else's. Sessions live in the database; a cache error is a
miss; a report asked for while the broker is down answers that it could not be queued.
"""

from __future__ import annotations

import http.cookiejar
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from django.db import connection

from apps.stories import services
from tests.servers import PrivateRedis, free_port, wait_until, web_server

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def live_server_on(private_redis: PrivateRedis, tmp_path: Path) -> Iterator[str]:
    """``manage.py runserver`` on this test's database, with the private Redis as cache and broker."""
    port = free_port()
    command = [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]
    env = {"SPRINTBOARD_SQLITE_PATH": str(tmp_path / "unused.sqlite3")}
    try:
        with web_server(
            command, port=port, redis_url=private_redis.url, log_path=tmp_path / "server.log", env=env
        ) as base:
            yield base
    finally:
        connection.close()


class Browser:
    """Cookies, the CSRF token and no redirects followed: each answer is checked as it comes."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirects())

    def csrf(self) -> str:
        return next(cookie.value for cookie in self.jar if cookie.name == "csrftoken")

    def request(self, method: str, path: str, data: dict | None = None, headers: dict | None = None):
        body = urllib.parse.urlencode({**data, "csrfmiddlewaretoken": self.csrf()}).encode() if data else None
        headers = {**(headers or {}), **({"X-CSRFToken": self.csrf()} if method != "GET" else {})}
        request = urllib.request.Request(self.base + path, data=body, method=method, headers=headers)
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")

    def login(self, username: str, password: str) -> int:
        self.request("GET", "/login/")
        status, _ = self.request("POST", "/login/", {"username": username, "password": password})
        return status


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.fixture
def board(project, people, states):
    owner = people["owner"]
    sprint = services.sprint_create(project=project, actor=owner, name="Sprint 1", goal="Ship it")
    stories = [
        services.story_create(project=project, actor=owner, title=f"Card {n}", points=2, sprint=sprint)
        for n in range(3)
    ]
    services.sprint_start(sprint=sprint, actor=owner)
    return sprint, stories


def walk(browser: Browser, sprint, story, states) -> dict[str, int]:
    """Every kind of page a team uses, and a move: the status of each."""
    seen = {}
    for path in (
        "/p/DATA/",
        "/p/DATA/board/",
        "/p/DATA/board/live/",
        "/p/DATA/backlog/",
        f"/p/DATA/stories/{story.key}/",
        "/p/DATA/sprints/",
        f"/p/DATA/sprints/{sprint.pk}/",
        "/p/DATA/reports/",
        "/p/DATA/reports/flow/",
        "/p/DATA/reports/velocity/",
        f"/p/DATA/reports/sprints/{sprint.pk}/",
        "/api/v1/projects/DATA/stories/",
    ):
        seen[path], _ = browser.request("GET", path)
    story.refresh_from_db()
    seen["move"], _ = browser.request(
        "POST",
        "/p/DATA/board/move/",
        {"story": story.key, "state": states["In progress"].pk, "version": story.version},
        headers={"Accept": "application/json"},
    )
    return seen


def test_pages_keep_working_while_redis_is_down_and_recover_when_it_returns(
    board, states, people, private_redis, live_server_on
):
    sprint, stories = board
    browser = Browser(live_server_on)
    assert browser.login("member", "pw-member") == 302
    before = walk(browser, sprint, stories[0], states)
    assert all(status < 500 for status in before.values()), before
    assert redis.Redis.from_url(private_redis.url).dbsize() > 0  # the cache was in use

    private_redis.stop()
    during = walk(browser, sprint, stories[1], states)
    assert all(status < 500 for status in during.values()), during
    assert during["/p/DATA/board/"] == 200 and during["/p/DATA/board/live/"] == 200 and during["move"] == 200
    # A new login works: the session is written to the database, the lockout check reads it too.
    other = Browser(live_server_on)
    assert other.login("owner", "pw-owner") == 302
    assert other.request("GET", "/p/DATA/backlog/")[0] == 200
    # A report asked for while the broker is down says it could not be queued (never a 500).
    status, body = browser.request("GET", "/api/v1/projects/DATA/reports/waste/")
    assert status in (200, 202) and re.search(r'"status": ?"(failed|pending)"', body), body

    private_redis.start()
    after = walk(browser, sprint, stories[2], states)
    assert all(status < 500 for status in after.values()), after
    wait_until(lambda: redis.Redis.from_url(private_redis.url).dbsize() > 0, what="the cache to fill again")
    status, body = browser.request("POST", "/api/v1/projects/DATA/reports/waste/")
    assert status in (200, 202), body  # a failed report is retried on demand once the broker is back
