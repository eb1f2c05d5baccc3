"""Reads of integrations: a project's settings as shown to its admins, and the code linked to a story."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db.models import QuerySet
from django.urls import reverse

from apps.integrations.models import CodeLink, Integration, SlackUser
from apps.projects.models import Project
from apps.stories.models import Story


@dataclass(frozen=True)
class Settings:
    """A project's integrations without their secrets (whether each is set), and the URLs to give the senders."""

    project: Project
    secret_set: bool
    opened_state: int | None
    merged_state: int | None
    slack_signing_secret_set: bool
    slack_users: dict[str, str]
    github_url: str
    gitlab_url: str
    slack_url: str


def receiver_url(project: Project, name: str) -> str:
    return settings.SPRINTBOARD_BASE_URL + reverse(name, kwargs={"key": project.key})


def project_settings(project: Project) -> Settings:
    integration = Integration.objects.filter(project=project).first() or Integration(project=project)
    users = SlackUser.objects.filter(project=project).select_related("user").order_by("slack_id")
    return Settings(
        project=project,
        secret_set=bool(integration.secret),
        opened_state=integration.opened_state_id,
        merged_state=integration.merged_state_id,
        slack_signing_secret_set=bool(integration.slack_signing_secret),
        slack_users={link.slack_id: link.user.get_username() for link in users},
        github_url=receiver_url(project, "api-integrations-github"),
        gitlab_url=receiver_url(project, "api-integrations-gitlab"),
        slack_url=receiver_url(project, "api-integrations-slack"),
    )


def receiving(key: str) -> Integration | None:
    """The settings of the project a delivery is addressed to (None: no such project, or nothing set)."""
    return Integration.objects.filter(project__key=key).select_related("project").first()


def story_code_links(story: Story) -> QuerySet[CodeLink]:
    """Newest first: open pull/merge requests and branches read before old commits."""
    return CodeLink.objects.filter(story=story).order_by("-updated_at", "-id")


def integration_backup(project: Project) -> dict[str, object] | None:
    """The project's integrations as its backup carries them: the states code moves stories to and the Slack
    users, never the secrets (the copy's admin sets those anew). None when the project never set any."""
    integration = Integration.objects.filter(project=project).first()
    if integration is None:
        return None
    slack_users = (
        SlackUser.objects.filter(project=project).order_by("slack_id").values_list("slack_id", "user__username")
    )
    return {
        "opened_state": integration.opened_state_id,
        "merged_state": integration.merged_state_id,
        "slack_users": dict(slack_users),
    }
