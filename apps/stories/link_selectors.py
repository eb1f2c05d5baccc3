"""Reads of story links shared by the story page, its panel, the API and the board.

A person sees a link only when they can see both ends: the story they are on, and the other story (alive,
in a project they belong to). Links to a deleted story are kept (``services.links``) but shown nowhere
while it is deleted.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import connection
from django.db.models import Q, Subquery
from django.db.models.expressions import OuterRef

from apps.core.errors import InvalidInput, NotFound, PermissionDenied
from apps.projects.models import CLOSED_CATEGORIES, Membership, Project, Role, WorkflowState
from apps.projects.selectors import ROLE_NAMES, membership_for
from apps.stories.models import INWARD_NAMES, LinkKind, Story, StoryLink

OUTWARD, INWARD = "outward", "inward"
RELATED = ("source__state", "source__project", "target__state", "target__project")


@dataclass(frozen=True)
class LinkRow:
    """One link as seen from one of its stories: ``key``, ``title`` and ``state`` are the other story's."""

    id: int
    kind: str
    direction: str  # "outward": this story is the link's source; "inward": its target
    label: str  # how it reads from this story: "blocks", "is blocked by", "relates to", "duplicates"...
    key: str
    title: str
    state: str
    finished: bool  # the other story is in a done or cancelled state
    project_key: str


def _story_links_sql() -> str:
    """``story_links``'s read, written out: through the ORM (an OR of two joins of four tables) it cost the story
    page more than any other of its reads. The links from the story, then those to it; ``other`` is the other end."""
    link, story, state, project = (model._meta.db_table for model in (StoryLink, Story, WorkflowState, Project))
    membership = Membership._meta.db_table
    side = f"""SELECT l.id, l.kind, {{outward}}, o.key, o.title, s.name, s.category, p.key
      FROM {link} l JOIN {story} o ON o.id = l.{{other}}_id
      JOIN {state} s ON s.id = o.state_id JOIN {project} p ON p.id = o.project_id
      WHERE l.{{this}}_id = %(story)s AND o.deleted_at IS NULL
        AND o.project_id IN (SELECT project_id FROM {membership} WHERE user_id = %(user)s)"""  # noqa: S608
    # Only table names of the code are interpolated; the story and the user are query parameters.
    outward = side.format(outward="true", other="target", this="source")
    inward = side.format(outward="false", other="source", this="target")
    return f"{outward}\nUNION ALL {inward}\nORDER BY 1"


STORY_LINKS_SQL = _story_links_sql()


def story_links(story: Story, *, user: User) -> list[LinkRow]:
    """The links of ``story`` whose other end ``user`` can see (alive, in a project they belong to), oldest first
    (one query)."""
    with connection.cursor() as cursor:
        cursor.execute(STORY_LINKS_SQL, {"story": story.pk, "user": user.pk})
        return [_link_row(*row) for row in cursor.fetchall()]


def _link_row(
    pk: int, kind: str, outward: bool, key: str, title: str, state: str, category: str, project_key: str
) -> LinkRow:
    """A link as seen from one of its stories, from the other story's key, title, state and project key."""
    return LinkRow(
        id=pk,
        kind=kind,
        direction=OUTWARD if outward else INWARD,
        label=LinkKind(kind).label if outward else INWARD_NAMES[LinkKind(kind)],
        key=key,
        title=title,
        state=state,
        finished=category in CLOSED_CATEGORIES,
        project_key=project_key,
    )


def link_as_seen(link: StoryLink, *, story: Story) -> LinkRow:
    """A link just added, as seen from ``story`` (one of its ends)."""
    link = StoryLink.objects.select_related(*RELATED).get(pk=link.pk)
    return _row(link, outward=link.source_id == story.pk)


def _row(link: StoryLink, *, outward: bool) -> LinkRow:
    other = link.target if outward else link.source
    state, project_key = other.state, other.project.key
    return _link_row(link.pk, link.kind, outward, other.key, other.title, state.name, state.category, project_key)


def link_target(*, user: User, key: object) -> Story:
    """The story ``key`` names, for a new link: alive, in a project where ``user`` is a member or more.

    Unknown, deleted or invisible: 400 naming ``target`` (the person learns nothing of other projects);
    visible to a stakeholder only: 403.
    """
    story = (
        Story.objects.select_related("project").filter(key=key, deleted_at__isnull=True).first()
        if isinstance(key, str) and key
        else None
    )
    membership = membership_for(user=user, project=story.project) if story is not None else None
    if story is None or membership is None:
        raise InvalidInput(f"There is no story {str(key)[:30]}.", field="target")
    _require_member(membership, story)
    return story


def _require_member(membership: Membership, story: Story) -> None:
    if not membership.allows(Role.MEMBER):
        raise PermissionDenied(
            f"Linking stories needs the {ROLE_NAMES[Role.MEMBER].lower()} role or higher in {story.project.key}."
        )


def story_link(*, story: Story, link_id: int, user: User) -> StoryLink:
    """A link of ``story`` to remove: the other end must be alive and in a project where ``user`` is a member or
    more (404 when they cannot see it, 403 when they only follow it)."""
    link = (
        StoryLink.objects.filter(Q(source=story) | Q(target=story), pk=link_id)
        .select_related("source__project", "target__project")
        .first()
    )
    other = None if link is None else (link.target if link.source_id == story.pk else link.source)
    membership = membership_for(user=user, project=other.project) if other is not None else None
    if link is None or other is None or other.deleted_at is not None or membership is None:
        raise NotFound(f"{story.key} has no link {link_id}.")
    _require_member(membership, other)
    return link


def unfinished_blocker() -> Subquery:
    """For a board's query: the key of the first live story that blocks the row's story and is not finished
    (done or cancelled), or null. One correlated subquery, so the board's query count does not grow."""
    blockers = (
        StoryLink.objects.filter(target=OuterRef("pk"), kind=LinkKind.BLOCKS, source__deleted_at__isnull=True)
        .exclude(source__state__category__in=CLOSED_CATEGORIES)
        .order_by("pk")
        .values("source__key")[:1]
    )
    return Subquery(blockers)


def link_sentence(action: str, value: object, to_name: str) -> str:
    """A ``link`` event in a story's history: "linked DATA-3 (blocks)", "removed the link to DATA-1 (is blocked
    by)", naming the other story by its key as it was logged."""
    value = value if isinstance(value, dict) else {}
    key = to_name or str(value.get("key") or "another story")
    kind = value.get("kind")
    name = kind if kind not in LinkKind.values else LinkKind(kind).label
    if value.get("direction") == INWARD and kind in LinkKind.values:
        name = INWARD_NAMES[LinkKind(kind)]
    if action == "removed":
        return f"removed the link to {key} ({name})"
    return f"linked {key} ({name})"
