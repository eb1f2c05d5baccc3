"""Request services: triage only open requests, never into the active sprint, one transaction each."""

from __future__ import annotations

import pytest

from apps.core.errors import Conflict, InvalidInput
from apps.intake import services
from apps.intake.models import Request
from apps.stories import services as story_services
from apps.stories.models import Story

pytestmark = pytest.mark.django_db


def test_accept_links_the_story_and_the_requester(project, people):
    request = services.request_submit(
        project=project, requester=people["stakeholder"], title="Churn", detail="By region", channel="chat"
    )
    accepted = services.request_accept(request=request, actor=people["owner"])
    assert (
        accepted.status == "accepted"
        and accepted.story.title == "Churn"
        and accepted.requester == people["stakeholder"]
    )
    assert accepted.decided_by == people["owner"] and "stakeholder (chat)" in accepted.story.description
    with pytest.raises(Conflict):
        services.request_accept(request=request, actor=people["owner"])


def test_the_active_sprint_is_refused_and_nothing_is_created(project, people):
    sprint = story_services.sprint_create(project=project, actor=people["owner"])
    story_services.sprint_start(sprint=sprint, actor=people["owner"])
    request = services.request_submit(project=project, requester=people["stakeholder"], title="Now!")
    with pytest.raises(InvalidInput, match="never the active sprint"):
        services.request_accept(request=request, actor=people["owner"], sprint=sprint)
    assert not Story.objects.exists() and Request.objects.get().status == "open"


def test_a_non_member_cannot_submit(project, people):
    with pytest.raises(InvalidInput):
        services.request_submit(project=project, requester=people["outsider"], title="Let me in")


def test_merging_across_projects_is_refused(project, people):
    mine = services.request_submit(project=project, requester=people["stakeholder"], title="Mine")
    theirs = services.request_submit(project=project.other, requester=people["outsider"], title="Theirs")
    with pytest.raises(InvalidInput, match="another project"):
        services.request_merge(request=mine, into=theirs, actor=people["owner"])


def test_a_group_with_a_foreign_request_is_refused_whole(project, people):
    mine = services.request_submit(project=project, requester=people["stakeholder"], title="Churn")
    theirs = services.request_submit(project=project.other, requester=people["outsider"], title="Churn")
    with pytest.raises(InvalidInput):
        services.requests_accept_group(
            project=project, ids=[mine.pk, theirs.pk], representative=mine.pk, actor=people["owner"]
        )
    assert not Story.objects.exists() and Request.objects.get(pk=mine.pk).status == "open"
