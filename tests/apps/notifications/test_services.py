"""Who is told what: watchers, assignments, mentions, comments, requests, deliverables, sprints."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.notifications import services
from apps.notifications.models import Delivery, Kind, Notification, Watch
from apps.stories import services as story_services

pytestmark = pytest.mark.django_db


def kinds_for(user) -> list[str]:
    return list(Notification.objects.filter(user=user).order_by("pk").values_list("kind", flat=True))


def watchers(story) -> set[str]:
    return set(Watch.objects.filter(story=story).values_list("user__username", flat=True))


@pytest.fixture
def story(project, people):
    return story_services.story_create(project=project, actor=people["owner"], title="Ingest CRM")


def test_the_creator_watches_and_is_not_told_of_their_own_story(story, people):
    assert watchers(story) == {"owner"}
    assert Notification.objects.count() == 0


def test_an_assignee_is_told_and_watches_but_not_when_they_assign_themselves(story, people):
    story_services.story_assign(story=story, assignee=people["member"], actor=people["owner"])
    assert kinds_for(people["member"]) == [Kind.ASSIGNED]
    note = Notification.objects.get(user=people["member"])
    assert note.actor == people["owner"] and note.story == story and note.url == "/p/DATA/stories/DATA-1/"
    assert "assigned you DATA-1" in note.text
    assert watchers(story) == {"owner", "member"}

    story_services.story_assign(story=story, assignee=people["owner"], actor=people["owner"])
    assert kinds_for(people["owner"]) == [], "one's own action notifies nobody"


def test_a_story_created_assigned_tells_the_assignee(project, people):
    story_services.story_create(project=project, actor=people["owner"], title="Churn", assignee=people["member"])
    assert kinds_for(people["member"]) == [Kind.ASSIGNED]


def test_watchers_hear_of_state_sprint_and_blocked_changes_but_not_the_actor(story, people, states):
    story_services.story_assign(story=story, assignee=people["member"], actor=people["owner"])
    Notification.objects.all().delete()
    story_services.story_change_state(story=story, state=states["In progress"], actor=people["member"])
    story_services.story_block(story=story, reason="waiting for CRM access", actor=people["admin"])
    owner_notes = list(Notification.objects.filter(user=people["owner"]).order_by("pk"))
    assert [n.kind for n in owner_notes] == [Kind.STORY_CHANGED, Kind.STORY_CHANGED]
    assert "moved it to In progress" in owner_notes[0].text
    assert "blocked (waiting for CRM access)" in owner_notes[1].text
    assert kinds_for(people["member"]) == [Kind.STORY_CHANGED], "the mover is not told of the move"
    assert kinds_for(people["stakeholder"]) == [], "not a watcher"


def test_a_title_change_tells_nobody(story, people):
    story_services.story_update(story=story, actor=people["member"], title="Ingest the CRM")
    assert Notification.objects.count() == 0


def test_history_written_by_the_seed_or_an_importer_tells_nobody(project, people):
    story = story_services.story_create(
        project=project, actor=people["owner"], title="Old", at=timezone.now() - timedelta(days=30)
    )
    last = project.__class__.objects.get(pk=project.pk).last_event_seq
    story_services.story_assign(
        story=story, assignee=people["member"], actor=people["owner"], at=timezone.now() - timedelta(days=29)
    )
    assert Notification.objects.count() == 0
    with CaptureQueriesContext(connection) as queries:
        assert services.story_events_notify(project_id=project.pk, first_seq=last + 1, last_seq=last + 1) == 1
    assert len(queries) == 1, "the events alone: nothing else is read for history"


def test_a_comment_makes_its_author_a_watcher_and_tells_the_other_watchers(story, people):
    story_services.comment_add(story=story, author=people["stakeholder"], body="Is this on track?")
    assert watchers(story) == {"owner", "stakeholder"}
    assert kinds_for(people["owner"]) == [Kind.COMMENTED]
    assert kinds_for(people["stakeholder"]) == []
    story_services.comment_add(story=story, author=people["owner"], body="Yes")
    assert kinds_for(people["stakeholder"]) == [Kind.COMMENTED]


def test_a_mention_of_a_member_tells_them_once_and_a_non_member_is_ignored(story, people):
    story_services.comment_add(story=story, author=people["member"], body="@stakeholder see this; @outsider too")
    assert kinds_for(people["stakeholder"]) == [Kind.MENTIONED], "mentioned, not also 'commented'"
    assert kinds_for(people["outsider"]) == []
    assert "stakeholder" in watchers(story) and "outsider" not in watchers(story)


def test_a_mention_in_a_description_tells_the_member_once(story, people):
    story_services.story_update(story=story, actor=people["owner"], description="Ask @member about the schema")
    story_services.story_update(story=story, actor=people["owner"], description="Ask @member about the schemas")
    assert kinds_for(people["member"]) == [Kind.MENTIONED]


def test_watch_and_unwatch(story, people):
    services.watch_add(story=story, user=people["stakeholder"])
    services.watch_add(story=story, user=people["stakeholder"])
    assert watchers(story) == {"owner", "stakeholder"}
    services.watch_remove(story=story, user=people["stakeholder"])
    assert watchers(story) == {"owner"}


def test_the_requester_is_told_when_their_request_is_accepted_merged_or_declined(project, people):
    from apps.intake import services as intake

    asks = [
        intake.request_submit(project=project, requester=people["stakeholder"], title=f"Dashboard {n}")
        for n in range(3)
    ]
    intake.request_accept(request=asks[0], actor=people["owner"])
    intake.request_merge(request=asks[1], into=asks[0], actor=people["owner"])
    intake.request_decline(request=asks[2], actor=people["owner"], reason="Out of scope this quarter")
    notes = list(Notification.objects.filter(user=people["stakeholder"]).order_by("pk"))
    assert [n.kind for n in notes] == [Kind.REQUEST_DECIDED] * 3
    assert "accepted" in notes[0].text and notes[0].story is not None and notes[0].url.endswith("/stories/DATA-1/")
    assert "merged" in notes[1].text
    assert "declined" in notes[2].text and "Out of scope this quarter" in notes[2].text


def test_consumers_are_told_when_a_deliverable_is_retired(project, people, django_capture_on_commit_callbacks):
    from apps.deliverables import services as deliverables

    deliverable = deliverables.deliverable_create(
        project=project, actor=people["owner"], name="CRM dataset", kind="dataset", consumers=[people["stakeholder"]]
    )
    with django_capture_on_commit_callbacks(execute=True):
        deliverables.deliverable_retire(deliverable=deliverable, actor=people["owner"])
    note = Notification.objects.get(user=people["stakeholder"])
    assert note.kind == Kind.DELIVERABLE_CHANGED and "CRM dataset is retired" in note.text


def test_members_hear_a_sprint_start_and_close_unless_they_opt_out(project, people, django_capture_on_commit_callbacks):
    services.preference_set(user=people["admin"], kind=Kind.SPRINT_CHANGED, delivery=Delivery.OFF, in_app=False)
    sprint = story_services.sprint_create(project=project, actor=people["owner"])
    with django_capture_on_commit_callbacks(execute=True):
        story_services.sprint_start(sprint=sprint, actor=people["owner"])
    with django_capture_on_commit_callbacks(execute=True):
        story_services.sprint_close(sprint=sprint, actor=people["owner"])
    assert kinds_for(people["member"]) == [Kind.SPRINT_CHANGED] * 2
    assert kinds_for(people["owner"]) == [], "the owner started and closed it"
    assert kinds_for(people["admin"]) == [], "opted out"
    assert kinds_for(people["stakeholder"]) == [], "sprints are for the team"


def test_a_broken_notification_never_fails_the_change(story, people, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(services, "story_events_notify", broken)
    story_services.story_assign(story=story, assignee=people["member"], actor=people["owner"])
    story.refresh_from_db()
    assert story.assignee == people["member"]


def test_mark_read(story, people):
    story_services.comment_add(story=story, author=people["member"], body="@stakeholder one")
    story_services.comment_add(story=story, author=people["member"], body="two")
    first, second = Notification.objects.filter(user=people["owner"]).order_by("pk")
    assert services.notifications_mark_read(user=people["owner"], ids=[first.pk]) == 1
    assert services.notifications_mark_read(user=people["stakeholder"], ids=[second.pk]) == 0, "not theirs"
    assert services.notifications_mark_read(user=people["owner"]) == 1
    assert not Notification.objects.filter(user=people["owner"], read_at__isnull=True).exists()


def test_email_only_notifications_do_not_ring_the_bell(story, people):
    services.preference_set(user=people["member"], kind=Kind.ASSIGNED, delivery=Delivery.DAILY, in_app=False)
    story_services.story_assign(story=story, assignee=people["member"], actor=people["owner"])
    note = Notification.objects.get(user=people["member"])
    assert note.read and note.delivery == Delivery.DAILY


def test_a_sprint_close_tells_each_watcher_in_a_fixed_number_of_queries_per_story(
    project, people, django_capture_on_commit_callbacks
):
    sprint = story_services.sprint_create(project=project, actor=people["owner"], name="Sprint 1")
    stories = [
        story_services.story_create(project=project, actor=people["owner"], title=f"Story {n}", sprint=sprint)
        for n in range(4)
    ]
    for story in stories:
        services.watch_add(story=story, user=people["member"])
    story_services.sprint_start(sprint=sprint, actor=people["owner"])
    last = project.__class__.objects.get(pk=project.pk).last_event_seq
    story_services.sprint_close(sprint=sprint, actor=people["owner"], unfinished="backlog")
    moved = Notification.objects.filter(user=people["member"], kind=Kind.STORY_CHANGED)
    assert moved.count() == 4 and all("took it out of its sprint" in n.text for n in moved)

    with CaptureQueriesContext(connection) as queries:
        services.story_events_notify(project_id=project.pk, first_seq=last + 1, last_seq=last + 4)
    assert len(queries) <= 4 + 2 * 4, "events, their stories, their actor, watchers; preferences and insert per story"


def test_a_reorder_or_an_estimate_costs_the_write_no_notification_query(story, people):
    """Only kinds that can notify are read back (events_appended carries the kinds written)."""
    with CaptureQueriesContext(connection) as queries:
        story_services.story_move(
            story=story, actor=people["member"], placement=story_services.Placement(position="bottom")
        )
        story_services.story_update(story=story, actor=people["member"], points=5)
    assert not any('FROM "stories_storyevent"' in q["sql"] for q in queries.captured_queries)
    assert not any("notifications_" in q["sql"] for q in queries.captured_queries)
    with CaptureQueriesContext(connection) as queries:
        story_services.story_update(story=story, actor=people["member"], blocked=True, blocked_reason="No access")
    assert any('FROM "stories_storyevent"' in q["sql"] for q in queries.captured_queries)  # this one is read
    assert kinds_for(people["owner"]) == ["story_changed"]  # the creator watches: told of the block
