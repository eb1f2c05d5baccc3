"""Watchers, notifications and each person's choices of how to hear about each kind.

A ``Notification`` is written once, for one recipient, in the transaction of the change it reports (or,
for changes that signal after their commit, just after). ``delivery`` is the recipient's choice for its
kind at that moment; ``emailed_at`` is set once it went out by e-mail (alone or in a digest), so an SMTP
outage only delays it: the sweeper sends whatever is due and still unsent.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Kind(models.TextChoices):
    ASSIGNED = "assigned", "Assigned to me"
    MENTIONED = "mentioned", "Mentioned"
    COMMENTED = "commented", "Comments on stories I watch"
    STORY_CHANGED = "story_changed", "State, sprint or blocked changes of stories I watch"
    REQUEST_DECIDED = "request_decided", "My requests accepted, merged or declined"
    DELIVERABLE_CHANGED = "deliverable_changed", "Deliverables I consume published or retired"
    SPRINT_CHANGED = "sprint_changed", "Sprints of my projects started or closed"
    WEBHOOK_DISABLED = "webhook_disabled", "Webhooks of projects I administer turned off after failing"


class Delivery(models.TextChoices):
    IMMEDIATE = "immediate", "Right away"
    HOURLY = "hourly", "Hourly digest"
    DAILY = "daily", "Daily digest"
    OFF = "off", "No e-mail"


DIGESTS = (Delivery.HOURLY, Delivery.DAILY)

# What a person gets by e-mail until they choose: what is addressed to them at once, the rest once a day.
DEFAULT_DELIVERY = {
    Kind.ASSIGNED: Delivery.IMMEDIATE,
    Kind.MENTIONED: Delivery.IMMEDIATE,
    Kind.COMMENTED: Delivery.DAILY,
    Kind.STORY_CHANGED: Delivery.DAILY,
    Kind.REQUEST_DECIDED: Delivery.IMMEDIATE,
    Kind.DELIVERABLE_CHANGED: Delivery.DAILY,
    Kind.SPRINT_CHANGED: Delivery.DAILY,
    Kind.WEBHOOK_DISABLED: Delivery.IMMEDIATE,
}


class Watch(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="watches")
    story = models.ForeignKey("stories.Story", on_delete=models.CASCADE, related_name="watches")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["story", "user"], name="watch_once")]

    def __str__(self) -> str:
        return f"{self.user_id} watches {self.story_id}"


class Notification(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, null=True, related_name="+")
    story = models.ForeignKey("stories.Story", on_delete=models.CASCADE, null=True, related_name="notifications")
    text = models.CharField(max_length=500)
    url = models.CharField(max_length=500)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)
    delivery = models.CharField(max_length=16, choices=Delivery.choices)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["user", "-created_at"], name="notification_user_recent"),
            models.Index(fields=["user"], name="notification_user_unread", condition=models.Q(read_at__isnull=True)),
            models.Index(
                fields=["delivery", "created_at"],
                name="notification_email_due",
                condition=models.Q(emailed_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.user_id}: {self.text}"

    @property
    def read(self) -> bool:
        return self.read_at is not None


class NotificationPreference(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_prefs")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    delivery = models.CharField(max_length=16, choices=Delivery.choices)
    in_app = models.BooleanField(default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="notification_preference_once")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind}: {self.delivery}"
