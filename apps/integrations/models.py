"""Connections in: a project's code hosts (GitHub, GitLab) and Slack, and the code that names its stories.

``Integration`` holds a project's settings (one row, made when an admin first sets something): the secret
that signs GitHub's and authenticates GitLab's deliveries, the states a story moves to when its pull/merge
request opens or merges, and the Slack app's signing secret. ``CodeLink`` is a pull/merge request, commit or
branch that names a story; ``SlackUser`` links a Slack user to a member, so their ``/ask`` is theirs.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Host(models.TextChoices):
    GITHUB = "github", "GitHub"
    GITLAB = "gitlab", "GitLab"


class LinkKind(models.TextChoices):
    PR = "pr", "Pull request"
    MR = "mr", "Merge request"
    COMMIT = "commit", "Commit"
    BRANCH = "branch", "Branch"


class LinkState(models.TextChoices):
    OPEN = "open", "Open"
    MERGED = "merged", "Merged"
    CLOSED = "closed", "Closed"


class Integration(models.Model):
    project = models.OneToOneField("projects.Project", on_delete=models.CASCADE, related_name="integration")
    # GitHub: the HMAC key of X-Hub-Signature-256; GitLab: the X-Gitlab-Token. Empty: code hosts are refused.
    secret = models.CharField(max_length=200, blank=True, default="")
    opened_state = models.ForeignKey(
        "projects.WorkflowState", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    merged_state = models.ForeignKey(
        "projects.WorkflowState", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The Slack app's signing secret (its Basic Information page). Empty: /ask is refused.
    slack_signing_secret = models.CharField(max_length=200, blank=True, default="")
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"integrations of {self.project_id}"


class CodeLink(models.Model):
    """A piece of code naming a story; its ``url`` identifies it, its latest delivery says its title and state."""

    story = models.ForeignKey("stories.Story", on_delete=models.CASCADE, related_name="code_links")
    host = models.CharField(max_length=8, choices=Host.choices)
    kind = models.CharField(max_length=8, choices=LinkKind.choices)
    url = models.CharField(max_length=2000)
    title = models.CharField(max_length=300, blank=True)
    state = models.CharField(max_length=8, choices=LinkState.choices)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["story", "-updated_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["story", "url"], name="codelink_unique_story_url")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.url} ({self.state})"


class SlackUser(models.Model):
    """A Slack user (``U…`` id) who is this member of the project when they ``/ask``."""

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="slack_users")
    slack_id = models.CharField(max_length=32)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        ordering = ["project", "slack_id"]
        constraints = [models.UniqueConstraint(fields=["project", "slack_id"], name="slackuser_unique_id")]

    def __str__(self) -> str:
        return f"{self.slack_id} is {self.user_id} in {self.project_id}"
