"""The board: columns of workflow states, cards moved by drag and drop or keyboard, kept live by polling.

Live updates: the board's fragment URL (``project-board-live``) answers with an ``ETag`` built from
what the board shows (``selectors.board_version``: a fingerprint of its cards, the last event that can move
a WIP count or the SLE, the active sprint, the viewer's role and the project's day). ``static/js/board.js``
asks for it every ``SPRINTBOARD_BOARD_POLL_MS`` with ``If-None-Match``; while nothing it shows changed (a
backlog reorder, or a change to a story outside the sprint or the filters, changes nothing) the answer is
a ``304 Not Modified`` after one query, otherwise the new fragment.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
import time
import zoneinfo
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.core.cache import cache
from django.db import OperationalError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_POST

from apps.core import errors
from apps.core.forms import OfferedChoiceField, form_field, marked_options
from apps.projects.models import Category, Membership, Project, Role, WipPolicy, WorkflowState
from apps.projects.selectors import workflow
from apps.projects.views import back, project_view, render_project, valid, wants_json
from apps.stories import selectors, services
from apps.stories.models import StoryKind

# --- Swimlanes: how cards are grouped into rows --------------------------------------------
# To add one (the deliverables issue adds "deliverable"): a label for the picker and a function giving a
# card's lane as (id, heading) from its ``selectors.BoardRow`` (add the columns it reads there); id None is
# the "no value" lane, shown last.


@dataclass(frozen=True)
class Swimlane:
    label: str
    lane_of: Callable[[selectors.BoardRow], tuple[Any, str]]


SWIMLANES: dict[str, Swimlane] = {
    "none": Swimlane("None", lambda story: (None, "")),
    "assignee": Swimlane("Assignee", lambda story: (story.assignee_id, story.assignee_name or "Unassigned")),
    "epic": Swimlane("Epic", lambda story: (story.epic_id, story.epic_name if story.epic_id else "No epic")),
    "deliverable": Swimlane(
        "Deliverable",
        lambda story: (story.deliverable_id, story.deliverable_name if story.deliverable_id else "No deliverable"),
    ),
}

MODES = {"sprint": "Active sprint", "kanban": "Kanban"}
CATEGORY_NAMES = dict(Category.choices)


class BoardFilterForm(forms.Form):
    """The board's query string. A value that is not a choice is reported and ignored."""

    LANES = [(name, lane.label) for name, lane in SWIMLANES.items()]
    KINDS = [("", "Any kind"), *StoryKind.choices]

    mode = forms.ChoiceField(required=False, choices=MODES.items())
    lanes = forms.ChoiceField(label="Swimlanes", required=False, choices=LANES)
    assignee = OfferedChoiceField(required=False)
    label = OfferedChoiceField(required=False)
    kind = forms.ChoiceField(required=False, choices=KINDS)

    def __init__(self, data, *, people: list[tuple[str, str]], labels: list[str]) -> None:
        super().__init__(data, auto_id="board-filter-%s", label_suffix="")
        self.offered: dict[str, list[tuple[str, str]]] = {
            "lanes": self.LANES,
            "assignee": [("", "Anyone"), ("none", "Unassigned"), *people],
            "label": [("", "Any label"), *((name, name) for name in labels)],
            "kind": self.KINDS,
        }
        form_field(self, "assignee", OfferedChoiceField).choices = self.offered["assignee"]
        form_field(self, "label", OfferedChoiceField).choices = self.offered["label"]

    def selects(self) -> dict[str, list[tuple[str, str, bool]]]:
        """The options of the page's selects as (value, label, selected): the page writes them (web/_select.html)
        instead of rendering a widget template per option, which cost the board page ~10% of its time."""
        return {name: marked_options(self[name], offered) for name, offered in self.offered.items()}

    def values(self) -> dict[str, str]:
        """The valid values; invalid ones are dropped (and shown as errors)."""
        self.is_valid()
        return {name: "" if name in self.errors else self.cleaned_data.get(name) or "" for name in self.fields}


@dataclass
class Cell:
    state: WorkflowState
    cards: list[selectors.Card] = field(default_factory=list)


@dataclass
class Lane:
    id: Any
    heading: str
    cells: list[Cell]

    @property
    def size(self) -> int:
        return sum(len(cell.cards) for cell in self.cells)


@dataclass
class Column:
    state: WorkflowState
    count: int  # with a WIP limit: live stories in the state, project-wide (what the limit counts); else 0
    shown: int = 0  # cards of the state on this board

    @property
    def over_limit(self) -> bool:
        return self.state.wip_limit is not None and self.count > self.state.wip_limit

    @property
    def full(self) -> bool:
        return self.state.wip_limit is not None and self.count >= self.state.wip_limit


def _category_groups(states: list[WorkflowState]) -> list[dict[str, Any]]:
    """Runs of consecutive states with the same category: the board's column groups."""
    groups: list[dict[str, Any]] = []
    for state in states:
        if groups and groups[-1]["category"] == state.category:
            groups[-1]["span"] += 1
        else:
            groups.append({"category": state.category, "name": CATEGORY_NAMES[state.category], "span": 1})
    return groups


def _story_page_url(project: Project) -> str:
    """A story's page, with ``STORY-KEY`` in place of the key: where a card's link goes without JavaScript."""
    return reverse("story-detail", kwargs={"key": project.key, "story_key": "STORY-KEY"})


def _panel_url(project: Project) -> str:
    """The side panel's URL, with ``STORY-KEY`` in place of the key: the story page's ``?panel=1`` fragment.

    One panel for the board and the story page (``apps.stories.views.story``): details, every field,
    block/unblock with a reason, assign, re-estimate, comments and the history timeline. A change made in
    it answers ``HX-Trigger: board-changed``, on which ``static/js/board.js`` reloads the board.
    """
    return _story_page_url(project) + "?panel=1"


def _etag(version: selectors.BoardVersion) -> str:
    """Ages are in days, so the project's day is part of the version too."""
    today = timezone.now().astimezone(zoneinfo.ZoneInfo(version.timezone)).date()
    shown = hashlib.sha256(version.shown.encode()).hexdigest()[:16]
    return f'"board-{shown}-{version.flow_seq}-{version.active_sprint or 0}-{version.role}-{today.isoformat()}"'


def _board_context(request: HttpRequest, project: Project, membership: Membership) -> dict[str, Any]:
    """What the page shows around its cards (the filters, the sprint, the move dialog) and which cards it shows:
    ``fragment_key``, under which their fragment (``_cards_context``, ``stories/_board.html``) is shared."""
    states = workflow(project)
    people = [
        (username, selectors.person_name(username, first, last))
        for username, first, last in project.memberships.order_by("user__username").values_list(
            "user__username", "user__first_name", "user__last_name"
        )
    ]
    label_names = list(project.labels.order_by("name").values_list("name", flat=True))
    form = BoardFilterForm(request.GET, people=people, labels=label_names)
    chosen = form.values()
    # Read before the cards: a change in between makes this version older than the page, never newer.
    shown = selectors.BoardShown(**{name: chosen[name] for name in ("mode", "assignee", "label", "kind")})
    version = selectors.board_version(user=request.user, key=project.key, shown=shown)
    if version is None:  # no longer a member
        raise errors.NotFound(f"There is no project {project.key}.")
    sprint = selectors.active_sprint(project)
    mode = chosen["mode"] or ("sprint" if sprint is not None else "kanban")
    if mode == "sprint" and sprint is None:
        mode = "kanban"
    live_query = urlencode({name: value for name, value in chosen.items() if value})  # what the cards use
    etag = _etag(version)
    return {
        "sprint": sprint,
        "mode": mode,
        "modes": MODES,
        "form": form,
        "chosen": chosen,
        "selects": form.selects(),
        "states": states,
        "can_move": membership.allows(Role.MEMBER),
        "etag": etag,
        "fragment_key": _fragment_key(version, etag, live_query),  # as the poll of live_url keys it
        "recent_days": selectors.KANBAN_RECENT_DAYS,
        "query": request.GET.urlencode(),
        "panel_url": _panel_url(project),
        "live_url": reverse("project-board-live", kwargs={"key": project.key})
        + (f"?{live_query}" if live_query else ""),
    }


def _cards_context(project: Project, page: dict[str, Any]) -> dict[str, Any]:
    """The cards of the board ``page`` (``_board_context``) describes, in their lanes and columns."""
    states, chosen, sprint = page["states"], page["chosen"], page["sprint"]
    swimlane = SWIMLANES[chosen["lanes"] or "none"]
    now = timezone.now()
    stories, labels = selectors.board_stories(
        project,
        sprint=sprint if page["mode"] == "sprint" else None,
        since=now - timedelta(days=selectors.KANBAN_RECENT_DAYS),
        assignee=chosen["assignee"],
        label=chosen["label"],
        kind=chosen["kind"],
    )
    started = {state.pk for state in states if state.is_started}
    board_flow = selectors.board_flow(project, cards=stories, started=started, now=now)
    counts = selectors.wip_counts(project, states=[state.pk for state in states if state.wip_limit is not None])
    columns = [Column(state, counts.get(state.pk, 0)) for state in states]
    lanes = _lanes(stories, labels, states, swimlane, board_flow, _story_page_url(project))
    for column, index in zip(columns, range(len(states)), strict=True):
        column.shown = sum(len(lane.cells[index].cards) for lane in lanes)
    return {
        "lanes": lanes,
        "columns": columns,
        "groups": _category_groups(states),
        "swimlane": chosen["lanes"] or "none",
        "flow": board_flow,
        "blocking": project.wip_policy == WipPolicy.BLOCK,
        "card_count": len(stories),
    }


def _cards_fragment(request: HttpRequest, project: Project, membership: Membership, page: dict[str, Any]) -> str:
    context = page | _cards_context(project, page) | {"project": project, "membership": membership}
    return render_to_string("stories/_board.html", context, request=request)


def _lanes(
    stories: Sequence[selectors.BoardRow],
    labels: dict[int, tuple[selectors.CardLabel, ...]],
    states: list[WorkflowState],
    swimlane: Swimlane,
    board_flow: selectors.BoardFlow,
    page_url: str,
) -> list[Lane]:
    lanes: dict[Any, Lane] = {}
    index = {state.pk: i for i, state in enumerate(states)}
    sle = board_flow.sle_days if board_flow.sle_n else None
    for story in stories:  # rank order, so each cell stays in rank order
        card = selectors.board_card(
            story,
            labels=labels.get(story.pk, ()),
            age=board_flow.ages.get(story.key),
            sle=sle,
            page_url=page_url.replace("STORY-KEY", story.key),
        )
        lane_id, heading = swimlane.lane_of(story)
        lane = lanes.get(lane_id)
        if lane is None:
            lane = lanes[lane_id] = Lane(lane_id, heading, [Cell(state) for state in states])
        lane.cells[index[story.state_id]].cards.append(card)
    ordered = sorted(lanes.values(), key=lambda lane: (lane.id is None, lane.heading.lower()))
    return ordered or [Lane(None, "", [Cell(state) for state in states])]


@project_view()
def board(request: HttpRequest, project: Project, membership: Membership) -> HttpResponse:
    """The board page. Its cards are the fragment its polls share (same version, same filters): a page opened
    after a poll or another page rendered the current cards reads them from the cache, and pages and polls
    asking at once after a change render them once."""
    page = _board_context(request, project, membership)
    packed = _shared_fragment(
        page["fragment_key"], lambda: _cards_fragment(request, project, membership, page).encode()
    )
    cards = mark_safe(gzip.decompress(packed).decode())  # noqa: S308 - rendered by stories/_board.html (escaped there)
    response = render_project(request, "stories/board.html", project, membership, nav="board", cards=cards, **page)
    response["Cache-Control"] = "no-cache"
    return response


@require_GET
def board_live(request: HttpRequest, key: str) -> HttpResponse:
    """The board's fragment for polling: 304 after one query while nothing the board shows has changed."""
    version = _poll_version(request, key, selectors.BoardShown.of(request.GET))
    if version is None:
        return HttpResponse(status=401 if not request.user.is_authenticated else 404)
    etag = _etag(version)
    gzipped = _accepts_gzip(request)
    if etag in _if_none_match(request):
        response = HttpResponse(status=304)
    else:
        fragment_key = _fragment_key(version, etag, request.GET.urlencode())
        fragment = _shared_fragment(fragment_key, lambda: _render_fragment(request, key).content)
        response = HttpResponse(fragment if gzipped else gzip.decompress(fragment))
        if gzipped:
            response["Content-Encoding"] = "gzip"
    # A strong validator names one representation: the gzipped one's is weak, as nginx and Django's GZipMiddleware
    # make it (If-None-Match compares weakly, so either form matches).
    response["ETag"] = f"W/{etag}" if gzipped else etag
    response["Cache-Control"] = "no-cache"
    patch_vary_headers(response, ("Accept-Encoding",))
    return response


def _poll_version(request: HttpRequest, key: str, shown: selectors.BoardShown) -> selectors.BoardVersion | None:
    """The board's version for the request's user. On PostgreSQL, with the project's session store
    (``apps.web.sessions``: its ``read_with``), the session, its user and the version are one statement (the
    version for the user the session's row names), and Django's authentication then checks the session and the
    user as on every request; the version counts only if the user it signs in is that user. Otherwise (no
    session, another user, SQLite) the version alone."""
    read_with = getattr(request.session, "read_with", None)
    if isinstance(key, str) and connection.vendor == "postgresql" and read_with is not None:
        row = read_with(selectors.BOARD_VERSION_SQL, selectors.board_version_params(key=key, shown=shown))
        signed_in = request.user.is_authenticated  # Django's checks, on the row just read
        read = getattr(request.session, "user_read", None)
        if row is not None and signed_in and read is not None and request.user.pk == read.pk:
            return selectors.board_version_of(row)
    return selectors.board_version(user=request.user, key=key, shown=shown)


def _accepts_gzip(request: HttpRequest) -> bool:
    """Whether Accept-Encoding admits gzip (RFC 9110 12.5.3: ``gzip``, ``x-gzip`` or ``*``, with a q above 0; a
    coding named with a q that is not a number is not accepted).

    The poll's two headers are read from ``META``: ``request.headers`` builds a mapping of every header on first
    use, which cost more than the rest of the view's Python but its query (nothing else on the poll's path uses
    it)."""
    accepted: dict[str, float] = {}
    for part in request.META.get("HTTP_ACCEPT_ENCODING", "").split(","):
        coding, *params = (piece.strip() for piece in part.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        accepted[coding.lower()] = q
    for coding in ("gzip", "x-gzip", "*"):
        if coding in accepted:
            return accepted[coding] > 0
    return False


def _if_none_match(request: HttpRequest) -> set[str]:
    header = request.META.get("HTTP_IF_NONE_MATCH", "")  # not request.headers: see _accepts_gzip
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}


# Every open board polls; right after a change they all ask at once for the same new fragment.
FRAGMENT_SECONDS = 60
FRAGMENT_WAIT_SECONDS = 5


def _fragment_key(version: selectors.BoardVersion, etag: str, query: str) -> str:
    """The fragment depends only on the ETag's inputs (what the board shows, active sprint, role, day) and the
    filters, never on who asks (it holds no CSRF token or name of the viewer): one per version and filters."""
    return f"board-fragment-gz:{version.scope}:{etag}:{hashlib.sha256(query.encode()).hexdigest()}"


def _shared_fragment(fragment_key: str, render: Callable[[], bytes]) -> bytes:
    """The fragment ``render`` makes (UTF-8), gzipped: stored so, served so to every poll that accepts gzip (all
    browsers), unpacked for the page and any other client. A 146 KB board is 8 KB gzipped (0.5 ms, once per
    version): a poll reads 8 KB from Redis and sends 8 KB, not 146 twice. (The fragment holds no secret, no CSRF
    token or anything of the viewer's, so compressing it exposes nothing to BREACH.)

    Single flight: the first poll of a new version renders the fragment and stores it; the others wait for it
    asleep in PostgreSQL, on an advisory lock the renderer holds while it renders. They used to look in the
    cache every 20 ms: in a burst of 30 polls on 2 cores the waiters' looking slowed the render they waited
    for, which made them look longer (~40 ms of CPU each at worst, against ~2 ms asleep).

    The version query has already authorised the viewer (a member, with this role), so a stored fragment is
    served as it is. Without the stored copy (Redis away, the renderer gone or slower than the wait) a poll
    renders its own. Outside PostgreSQL, or inside a transaction (the lock's wait is bounded by a setting
    local to its statement's own transaction), nobody waits.

    Each process also keeps the fragments it served last (``_SERVED``): a key names one version's fragment for
    good, so a worker serving the next poll of the same board skips Redis too.
    """
    content = _SERVED.get(fragment_key)
    if content is None:
        content = _stored_or_rendered(fragment_key, render)
        _SERVED.put(fragment_key, content)
    return content


def _stored_or_rendered(fragment_key: str, render: Callable[[], bytes]) -> bytes:
    content = cache.get(fragment_key)
    if content is not None:
        return content
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return _render_and_store(fragment_key, render)
    lock = _lock_id(fragment_key)
    if not _advisory("SELECT pg_try_advisory_lock(%(lock)s)", lock):
        _wait_for_renderer(lock)
        content = cache.get(fragment_key)
        return content if content is not None else _render_and_store(fragment_key, render)
    try:
        content = cache.get(fragment_key)  # stored by a renderer that finished since this poll first looked
        return content if content is not None else _render_and_store(fragment_key, render)
    finally:
        _advisory("SELECT pg_advisory_unlock(%(lock)s)", lock)


class _Recent:
    """The last ``size`` values put, by key, each for ``seconds`` (least recently used out first); threads may
    share it."""

    def __init__(self, size: int, seconds: float) -> None:
        self.size, self.seconds, self.lock = size, seconds, threading.Lock()
        self.items: OrderedDict[str, tuple[float, bytes]] = OrderedDict()

    def get(self, key: str) -> bytes | None:
        with self.lock:
            found = self.items.get(key)
            if found is None:
                return None
            if found[0] <= time.monotonic():
                del self.items[key]
                return None
            self.items.move_to_end(key)
            return found[1]

    def put(self, key: str, value: bytes) -> None:
        with self.lock:
            self.items[key] = (time.monotonic() + self.seconds, value)
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)


# 64 boards' fragments a process, for as long as the cache keeps them: 8 KB gzipped for 200 cards.
_SERVED = _Recent(64, FRAGMENT_SECONDS)


def _render_and_store(fragment_key: str, render: Callable[[], bytes]) -> bytes:
    content = gzip.compress(render(), compresslevel=6, mtime=0)
    cache.set(fragment_key, content, FRAGMENT_SECONDS)
    return content


def _lock_id(fragment_key: str) -> int:
    """A fragment's advisory lock: 64 bits of its key's hash (a collision only makes two renders wait in turn)."""
    return int.from_bytes(hashlib.sha256(fragment_key.encode()).digest()[:8], "big", signed=True)


def _advisory(sql: str, lock: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(sql, {"lock": lock})
        return bool(cursor.fetchone()[0])


# Nested so that the timeout is set before the wait begins; local to the statement's own transaction.
WAIT_FOR_RENDERER_SQL = """
    SELECT pg_advisory_unlock_shared(%(lock)s) FROM (
        SELECT pg_advisory_lock_shared(%(lock)s) FROM (SELECT set_config('lock_timeout', %(wait)s, true)) AS bound
    ) AS turn"""


def _wait_for_renderer(lock: int) -> None:
    """Sleep until the renderer releases ``lock`` (a shared lock is granted to every waiter at once), at most
    FRAGMENT_WAIT_SECONDS."""
    try:
        with connection.cursor() as cursor:
            cursor.execute(WAIT_FOR_RENDERER_SQL, {"lock": lock, "wait": f"{FRAGMENT_WAIT_SECONDS}s"})
    except OperationalError:  # lock_timeout: the renderer is slow or stuck; the caller renders its own
        pass


@project_view()
def _render_fragment(request: HttpRequest, project: Project, membership: Membership) -> HttpResponse:
    return HttpResponse(_cards_fragment(request, project, membership, _board_context(request, project, membership)))


# --- Moves ---------------------------------------------------------------------------------


class MoveForm(forms.Form):
    story = forms.CharField(max_length=24)
    state = forms.IntegerField(min_value=1)
    version = forms.IntegerField(min_value=1)
    next = forms.CharField(required=False, max_length=2000)


@require_POST
@project_view(minimum=Role.MEMBER)
def board_move(request: HttpRequest, project: Project, membership: Membership) -> HttpResponse:
    """Move a card to another column: one ``state`` event, refused if the card changed meanwhile.

    Answers a short JSON message (the client reloads the board's fragment itself), or redirects without
    JavaScript. Queries: the user, the project and membership, the story and column (one), then the service's
    locks, the story's update and its event.
    """
    data = valid(MoveForm(request.POST))
    story, state = selectors.board_move_target(project, story_key=data["story"], state_id=data["state"])
    if story is None:
        raise errors.NotFound(f"There is no story {data['story']}.")
    if state is None:
        raise errors.NotFound("There is no such column on this board.")
    story = services.story_change_state(story=story, state=state, actor=request.user, expected_version=data["version"])
    message = f"{story.key} moved to {state.name}."
    warning = _over_limit(project, state)
    if wants_json(request):
        return JsonResponse(
            {"message": f"{message} {warning}" if warning else message, "warning": warning, "key": story.key}
            | {"version": story.version}
        )
    messages.success(request, message)
    if warning:
        messages.warning(request, warning)
    return redirect(back(request, project))


def _over_limit(project: Project, state: WorkflowState) -> str:
    """Under the "warn" WIP policy a move past a column's limit is made, and said (the "block" policy refuses it)."""
    if state.wip_limit is None or project.wip_policy != WipPolicy.WARN:
        return ""
    count = selectors.wip_counts(project, states=[state.pk]).get(state.pk, 0)
    if count <= state.wip_limit:
        return ""
    return f"{state.name} is over its WIP limit: {count} stories for a limit of {state.wip_limit}. Finish something there first."
