"""A data team on Sprintboard, for `make load` (tests/load/run.py starts the servers and this).

Each simulated person keeps an open board that polls every 1.5 s (with If-None-Match, as
static/js/board.js does) and, every 5 to 15 s, does one thing: opens the board, the backlog, a story
or a report; moves a card to another column; reorders the backlog; comments on a story (an htmx post, as the
story page's form sends it, answered with the story's comments section).

Runs in its own virtualenv (.venv-load, requirements-load.txt): it talks HTTP only and imports nothing
of the project. Each person is a FastHttpUser (geventhttpclient): locust shares the machine with the server,
and requests' client cost it ~1.7 ms of CPU per request, a quarter of a core at 150 requests/s, taken
from the server it measures. Users are load001, load002, ... (run.py creates them as members of the demo project, each
with a signed-in session: the team is at work, not logging in).
A move answered 409 (someone moved the card first) is expected and counted, not a failure.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

from locust import FastHttpUser, constant, events, task
from requests.cookies import create_cookie

PROJECT = "DATA"
SESSIONS = Path(os.environ["LOAD_SESSIONS_FILE"]).read_text().split()  # one signed-in session per person
POLL_SECONDS = 1.5
CARD = re.compile(r'id="card-([A-Z]+-\d+)"[^>]*data-version="(\d+)" data-state="(\d+)"')
COLUMN = re.compile(r'data-state="(\d+)" aria-label="')
ROW = re.compile(r'id="row-([A-Z]+-\d+)"')
STORY = re.compile(r"/p/DATA/stories/([A-Z]+-\d+)/")
REPORTS = ("flow", "velocity", "waste", "forecast", "dataops")

numbers = itertools.count(1)
conflicts: Counter[str] = Counter()


class TeamMember(FastHttpUser):
    wait_time = constant(POLL_SECONDS)

    def on_start(self) -> None:
        number = next(numbers)
        self.username = f"load{number:03d}"
        self.orders_backlog = number % 6 == 1  # run.py makes one person in six a product owner
        session = SESSIONS[(number - 1) % len(SESSIONS)]
        self.client.cookiejar.set_cookie(create_cookie("sessionid", session, domain=urlsplit(self.host).hostname))
        self.etag = ""
        self.cards: list[tuple[str, int, int]] = []
        self.columns: list[int] = []
        self.next_action = random.uniform(0, 15)  # people do not all act at once
        self.open_board()
        _opened(self.environment)

    @property
    def csrf(self) -> dict[str, str]:
        token = next((cookie.value for cookie in self.client.cookiejar if cookie.name == "csrftoken"), "")
        return {"X-CSRFToken": token or "", "Referer": f"{self.host}/p/{PROJECT}/board/"}

    @task
    def tick(self) -> None:
        """One poll; and when this person's next action is due, that action."""
        self.poll()
        self.next_action -= POLL_SECONDS
        if self.next_action <= 0:
            self.next_action = random.uniform(5, 15)
            random.choice(ACTIONS)(self)

    def poll(self) -> None:
        headers = {"If-None-Match": self.etag} if self.etag else {}
        with self.client.get(f"/p/{PROJECT}/board/live/", headers=headers, name="poll", catch_response=True) as r:
            if r.status_code == 304:
                r.success()
            elif r.status_code == 200:
                self.etag = r.headers.get("ETag", "")
                self._read_board(r.text)

    def _read_board(self, html: str) -> None:
        self.cards = [(key, int(version), int(state)) for key, version, state in CARD.findall(html)]
        self.columns = sorted({int(state) for state in COLUMN.findall(html)})

    def open_board(self) -> None:
        page = self.client.get(f"/p/{PROJECT}/board/", name="board")
        if page.ok:
            self._read_board(page.text)

    def open_backlog(self) -> None:
        self.client.get(f"/p/{PROJECT}/backlog/", name="backlog")

    def open_story(self) -> None:
        key = random.choice(self.cards)[0] if self.cards else f"{PROJECT}-1"
        self.client.get(f"/p/{PROJECT}/stories/{key}/", name="story")

    def open_report(self) -> None:
        self.client.get(f"/p/{PROJECT}/reports/{random.choice(REPORTS)}/", name="report")

    def move_card(self) -> None:
        if not self.cards or len(self.columns) < 2:
            return self.open_board()
        key, version, state = random.choice(self.cards)
        target = random.choice([column for column in self.columns if column != state])
        with self.client.post(
            f"/p/{PROJECT}/board/move/",
            {"story": key, "state": target, "version": version},
            headers={**self.csrf, "Accept": "application/json"},
            name="move",
            catch_response=True,
        ) as r:
            if r.status_code == 409:  # someone moved it first (or a WIP limit refused): expected, counted
                conflicts["move"] += 1
                r.success()
        self.etag = ""  # see the result on the next poll

    def reorder_backlog(self) -> None:
        """A product owner drags a story above another; the others just look at the backlog."""
        page = self.client.get(f"/p/{PROJECT}/backlog/", name="backlog")
        if not self.orders_backlog:
            return None
        rows = ROW.findall(page.text) if page.ok else []
        if len(rows) < 2:
            return None
        story, anchor = random.sample(rows, 2)
        with self.client.post(
            f"/p/{PROJECT}/backlog/move/",
            {"story": story, "before": anchor},
            headers={**self.csrf, "Accept": "application/json"},
            name="reorder",
            catch_response=True,
        ) as r:
            if r.status_code == 409:
                conflicts["reorder"] += 1
                r.success()
        return None

    def comment(self) -> None:
        key = random.choice(self.cards)[0] if self.cards else f"{PROJECT}-1"
        self.client.post(  # as the story page's form posts it (htmx): answered with the comments section
            f"/p/{PROJECT}/stories/{key}/comment/",
            {"body": f"{self.username}: checked the numbers against the warehouse."},
            headers={**self.csrf, "HX-Request": "true"},
            name="comment",
        )


ACTIONS = (
    TeamMember.open_board,
    TeamMember.open_backlog,
    TeamMember.open_story,
    TeamMember.open_report,
    TeamMember.move_card,
    TeamMember.reorder_backlog,
    TeamMember.comment,
)


opened = 0


def _opened(environment) -> None:  # noqa: ANN001 - locust's Environment
    """A step measures its users at work: once every user has opened its board, what was counted until then
    (the opening pages, and everything queued behind them) is forgotten, the 409s too. Locust's own reset
    (--reset-stats) comes when every user has been started, while the last ones' boards are still queued: at
    300 users their opening pages alone made the board's p95 (490 ms seen by locust, 28 ms in the server)."""
    global opened
    opened += 1
    if opened == environment.runner.target_user_count:
        environment.runner.stats.reset_all()
        conflicts.clear()


@events.spawning_complete.add_listener
def _count_from_here(user_count: int, **_kwargs) -> None:
    """Locust resets its statistics once every user has started (run.py's --reset-stats): the 409s too."""
    conflicts.clear()


@events.quitting.add_listener
def _write_conflicts(environment, **_kwargs) -> None:
    path = os.environ.get("LOAD_CONFLICTS_FILE")
    if path:
        with open(path, "w") as out:
            json.dump(dict(conflicts), out)
