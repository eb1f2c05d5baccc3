"""Who may be @-mentioned in a project's text, and where a mention links (the markdown filter and the pages
that pass it their own list share this)."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse
from django.utils.http import urlencode


@dataclass(frozen=True)
class MentionTargets:
    """Who may be mentioned in a project's text, and where a mention links: their cards on its board."""

    project_key: str
    usernames: frozenset[str]

    def url(self, username: str) -> str:
        return f"{reverse('project-board', args=[self.project_key])}?{urlencode({'assignee': username})}"
