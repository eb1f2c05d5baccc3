"""Stakeholder requests: asks that land in a triage queue, never in the running sprint."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q
from django.utils import timezone

from apps.projects.models import Project
from apps.stories.models import Story


class Channel(models.TextChoices):
    WEB = "web", "Web"
    EMAIL = "email", "Email"
    CHAT = "chat", "Chat"
    MEETING = "meeting", "Meeting"
    SLACK = "slack", "Slack"


class RequestStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACCEPTED = "accepted", "Accepted"
    MERGED = "merged", "Merged"
    DECLINED = "declined", "Declined"


# What search looks in (apps.core.search), and its weights: the stored ``search_vector``, GIN-indexed on
# PostgreSQL and written by the services that submit a request (and a restore) in the same transaction.
REQUEST_SEARCH_FIELDS = (("title", "A"), ("detail", "B"))


class Request(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="requests")
    requester = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    # Who asked when they are no member of the project (a Slack user with no linked account): ``requester`` is null.
    requester_name = models.CharField(max_length=200, blank=True, default="")
    # E-mail: the sender's address, kept whether or not it matched a member; its Message-ID (a message is
    # one request however often the mailbox is read) and when the sender was answered.
    requester_email = models.EmailField(blank=True)
    message_id = models.CharField(max_length=998, blank=True)
    replied_at = models.DateTimeField(null=True, blank=True)
    title = models.CharField(max_length=300)
    detail = models.TextField(blank=True)
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.WEB)
    status = models.CharField(max_length=8, choices=RequestStatus.choices, default=RequestStatus.OPEN)
    # Accepted: the story it became. Merged: the request it was folded into (always one that is not merged itself).
    story = models.ForeignKey(Story, on_delete=models.SET_NULL, null=True, blank=True, related_name="requests")
    merged_into = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="merged")
    decline_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    search_vector = SearchVectorField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["project", "id"]
        indexes = [
            models.Index(fields=["project", "status", "id"], name="request_project_status"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="declined") | ~Q(decline_reason=""), name="request_declined_has_reason"
            ),
            models.UniqueConstraint(
                fields=["project", "message_id"], condition=~Q(message_id=""), name="request_message_id_once"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"
