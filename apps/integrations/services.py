"""The only writers of integrations: a project's settings, the code links the code hosts report, and the requests
asked on Slack.

A code host's delivery (``codehost_deliver``) is one transaction: every story a link names gets the link
(inserted, or updated to its latest title and state), and, when the project chose a state for the link's move
(its pull/merge request just opened, or just merged), the story moves there through
``apps.stories.services.story_change_state`` — an ordinary ``state`` event, whose actor is the integration's
own account (``github[bot]``, ``GitLab``'s ``gitlab[bot]``: inactive, with no password). A move the workflow
refuses (a WIP limit that blocks) is skipped and reported; the links stay.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.core.errors import DomainError, InvalidInput
from apps.intake import services as intake_services
from apps.intake.models import Channel, Request
from apps.integrations.models import CodeLink, Host, Integration, SlackUser
from apps.projects.models import Membership, Project, WorkflowState
from apps.stories import services as story_services
from apps.stories.models import Story
from apps.transfer.sections import Restoring
from sprintboard import codehost

logger = logging.getLogger(__name__)

SECRET_MIN, SECRET_MAX, SLACK_ID_MAX = 16, 200, 32
BOTS = {Host.GITHUB: ("github[bot]", "GitHub"), Host.GITLAB: ("gitlab[bot]", "GitLab")}
UNSET: Any = object()


# --- Settings -------------------------------------------------------------------------------------


def secret_generate() -> str:
    return secrets.token_urlsafe(32)


def _state(project: Project, value: Any, field: str) -> WorkflowState | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{field} is the id of one of {project.key}'s states, or null.", field=field)
    state = WorkflowState.objects.filter(project=project, pk=value).first()
    if state is None:
        raise InvalidInput(f"{project.key} has no state {value}.", field=field)
    return state


def _slack_secret(value: Any) -> str:
    if not isinstance(value, str) or value != value.strip() or (value and not SECRET_MIN <= len(value) <= SECRET_MAX):
        raise InvalidInput(
            f"slack_signing_secret is the Slack app's signing secret ({SECRET_MIN} to {SECRET_MAX} characters), "
            'or "" to turn /ask off.',
            field="slack_signing_secret",
        )
    return value


def _slack_users(project: Project, value: Any) -> dict[str, User]:
    if not isinstance(value, dict):
        raise InvalidInput('slack_users maps Slack user ids to usernames: {"U012AB3CD": "alice"}.', field="slack_users")
    members = {m.user.get_username(): m.user for m in Membership.objects.filter(project=project).select_related("user")}
    users: dict[str, User] = {}
    for slack_id, username in value.items():
        if not slack_id.isalnum() or len(slack_id) > SLACK_ID_MAX:
            raise InvalidInput(f"{slack_id!r} is not a Slack user id (such as U012AB3CD).", field="slack_users")
        if not isinstance(username, str) or username not in members:
            raise InvalidInput(f"{username!r} is not a member of {project.key}.", field=f"slack_users.{slack_id}")
        users[slack_id.upper()] = members[username]
    return users


def integration_of(project: Project) -> Integration:
    """The project's settings row, made on first use."""
    integration, _ = Integration.objects.get_or_create(project=project)
    return integration


@transaction.atomic
def integration_update(
    *,
    project: Project,
    rotate_secret: Any = False,
    opened_state: Any = UNSET,
    merged_state: Any = UNSET,
    slack_signing_secret: Any = UNSET,
    slack_users: Any = UNSET,
) -> tuple[Integration, str | None]:
    """Change a project's integrations; with ``rotate_secret``, a new code-host secret, returned the only time
    it is shown (the old one stops working at once)."""
    if not isinstance(rotate_secret, bool):
        raise InvalidInput("rotate_secret is true or false.", field="rotate_secret")
    Integration.objects.get_or_create(project=project)
    integration = Integration.objects.select_for_update().get(project=project)
    secret = None
    if rotate_secret:
        integration.secret = secret = secret_generate()
    if opened_state is not UNSET:
        integration.opened_state = _state(project, opened_state, "opened_state")
    if merged_state is not UNSET:
        integration.merged_state = _state(project, merged_state, "merged_state")
    if slack_signing_secret is not UNSET:
        integration.slack_signing_secret = _slack_secret(slack_signing_secret)
    if slack_users is not UNSET:
        users = _slack_users(project, slack_users)
        SlackUser.objects.filter(project=project).delete()
        SlackUser.objects.bulk_create(SlackUser(project=project, slack_id=k, user=u) for k, u in users.items())
    integration.updated_at = timezone.now()
    integration.save()
    return integration, secret


def _backed_up_state(restoring: Restoring, value: Any, field: str) -> int | None:
    if value is None:
        return None
    new = restoring.states.get(value) if isinstance(value, int) and not isinstance(value, bool) else None
    if new is None:
        raise InvalidInput(
            f"integration.{field}: names state {value!r:.20}, which the document does not hold.",
            field="document",
            code="bad_document",
        )
    return new


def integration_restore(restoring: Restoring, value: Any) -> None:
    """A backup's integrations (``selectors.integration_backup``) into its copy: the states, mapped to the copy's,
    and the Slack users who are members of the copy (/ask ignores anyone else). The secrets are not in a
    backup: code hosts and Slack stay refused until an admin sets them."""
    if not isinstance(value, dict) or not isinstance(value.get("slack_users", {}), dict):
        raise InvalidInput(
            "integration: expected an object with a slack_users object.", field="document", code="bad_document"
        )
    members = set(Membership.objects.filter(project=restoring.project).values_list("user__username", flat=True))
    integration_update(
        project=restoring.project,
        opened_state=_backed_up_state(restoring, value.get("opened_state"), "opened_state"),
        merged_state=_backed_up_state(restoring, value.get("merged_state"), "merged_state"),
        slack_users={k: v for k, v in value.get("slack_users", {}).items() if v in members},
    )


def integration_backup_people(value: Any) -> set[str]:
    users = value.get("slack_users") if isinstance(value, dict) else None
    return {name for name in users.values() if isinstance(name, str)} if isinstance(users, dict) else set()


# --- Code hosts -----------------------------------------------------------------------------------


@dataclass
class Delivered:
    """What a delivery did: the stories it linked, those it moved, and the moves the workflow refused."""

    linked: list[str] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)
    refused: list[dict[str, str]] = field(default_factory=list)


def integration_actor(host: str) -> User:
    """The account a host's changes are made by: inactive, no password, named for the host (history reads
    "GitHub moved it to Review")."""
    username, name = BOTS[Host(host)]
    user_model = get_user_model()
    try:
        with transaction.atomic():
            user, created = user_model.objects.get_or_create(
                username=username, defaults={"first_name": name, "is_active": False}
            )
    except IntegrityError:  # another delivery made it first
        user, created = user_model.objects.get(username=username), False
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def _link_rows(host: str, links: Iterable[codehost.CodeLink], stories: Mapping[str, Story]) -> None:
    now = timezone.now()
    for link in links:
        for key in link.keys:
            story = stories.get(key)
            if story is None:
                continue
            CodeLink.objects.update_or_create(
                story=story,
                url=link.url,
                defaults={"host": host, "kind": link.kind, "title": link.title, "state": link.state, "updated_at": now},
                create_defaults={
                    "host": host, "kind": link.kind, "title": link.title, "state": link.state, "created_at": now,
                    "updated_at": now,
                },
            )  # fmt: skip


def _targets(integration: Integration) -> dict[str, WorkflowState]:
    """The live states the project moves stories to, by move (``opened``, ``merged``)."""
    wanted = {"opened": integration.opened_state_id, "merged": integration.merged_state_id}
    live = WorkflowState.objects.in_bulk([pk for pk in wanted.values() if pk])
    return {move: live[pk] for move, pk in wanted.items() if pk in live}


def _move(story: Story, state: WorkflowState, actor: User, done: Delivered) -> None:
    if story.state_id == state.pk:
        return
    try:
        story_services.story_change_state(story=story, state=state, actor=actor)
    except DomainError as exc:  # the workflow refused (a blocking WIP limit): the link stays, the story too
        done.refused.append({"story": story.key, "state": state.name, "reason": exc.message})
        return
    done.moved.append(story.key)


@transaction.atomic
def codehost_deliver(*, project: Project, host: str, links: list[codehost.CodeLink]) -> Delivered:
    """Record what one delivery links, and make the moves the project chose. Keys naming no live story of the
    project are ignored."""
    done = Delivered()
    keys = {key for link in links for key in link.keys}
    if not keys:
        return done
    stories = {
        story.key: story
        for story in Story.objects.alive().filter(project=project, key__in=keys).select_related("state")
    }
    _link_rows(host, links, stories)
    done.linked = sorted(stories, key=lambda key: int(key.rsplit("-", 1)[1]))
    targets = _targets(integration_of(project))
    moves = [(link.move, key) for link in links if link.move in targets for key in link.keys if key in stories]
    if moves:
        actor = integration_actor(host)
        for move, key in moves:
            _move(stories[key], targets[move], actor, done)
    return done


# --- Slack ----------------------------------------------------------------------------------------


def slack_requester(*, project: Project, slack_id: str) -> User | None:
    """The member a Slack user is linked to, while they are a member of the project."""
    link = SlackUser.objects.filter(project=project, slack_id=slack_id.upper()).select_related("user").first()
    if link is None or not Membership.objects.filter(project=project, user=link.user).exists():
        return None
    return link.user


def slack_ask(*, project: Project, slack_id: str, slack_name: str, text: str) -> Request:
    """An ``/ask``: a request on channel ``slack`` from the linked member, or kept under the Slack name."""
    text = text.strip()
    title, _, rest = text.partition("\n")
    if len(title) > intake_services.TITLE_MAX:
        title = title[: intake_services.TITLE_MAX - 1].rsplit(" ", 1)[0] + "…"
    detail = text if title != text else ""
    requester = slack_requester(project=project, slack_id=slack_id)
    return intake_services.request_submit(
        project=project,
        requester=requester,
        requester_name="" if requester else f"{slack_name or slack_id} (Slack)",
        title=title,
        detail=detail,
        channel=Channel.SLACK,
    )
