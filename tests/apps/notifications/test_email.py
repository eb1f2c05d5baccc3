"""E-mail through a real SMTP server: recipients, subject, links, digests, unsubscribe, and no mail lost
while the server is down."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client

from apps.notifications import services
from apps.notifications.models import Delivery, Kind, Notification, NotificationPreference
from apps.notifications.tasks import notifications_digest_task, notifications_email_sweep_task
from apps.stories import services as story_services

pytestmark = pytest.mark.django_db
BASE = "https://sprintboard.example.com"


@pytest.fixture
def story(project, people):
    return story_services.story_create(project=project, actor=people["owner"], title="Ingest CRM")


def test_an_assignment_is_mailed_right_away_after_the_commit(
    story, emails, smtp, eager_celery, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        story_services.story_assign(story=story, assignee=emails["member"], actor=emails["owner"])
    assert smtp.inbox.messages == [], "nothing leaves before the commit"
    for callback in callbacks:
        callback()
    [mail] = smtp.inbox.messages
    assert mail.recipients == ["member@example.com"]
    assert mail.subject == "[Sprintboard] owner assigned you DATA-1 Ingest CRM"
    assert f"{BASE}/p/DATA/stories/DATA-1/" in mail.body("plain")
    assert f'href="{BASE}/p/DATA/stories/DATA-1/"' in mail.body("html")
    assert mail.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert Notification.objects.get(user=emails["member"]).emailed_at is not None


def test_a_down_smtp_server_loses_no_mail_and_never_fails_the_change(
    story, emails, smtp, eager_celery, django_capture_on_commit_callbacks, client
):
    smtp.stop()
    client.force_login(emails["owner"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.patch(
            "/api/v1/stories/DATA-1/", {"version": 1, "assignee": "member"}, content_type="application/json"
        )
    assert response.status_code == 200, response.content
    note = Notification.objects.get(user=emails["member"])
    assert note.emailed_at is None, "refused by a server that is down: still to send"

    smtp.start()
    Notification.objects.filter(pk=note.pk).update(created_at=note.created_at - timedelta(minutes=5))
    assert notifications_email_sweep_task.apply().get() == 1
    assert [m.recipients for m in smtp.inbox.messages] == [["member@example.com"]]
    assert notifications_email_sweep_task.apply().get() == 0, "sent once"


def test_a_digest_groups_by_story_and_is_sent_once(project, story, emails, smtp):
    other = story_services.story_create(project=project, actor=emails["owner"], title="Churn dashboard")
    services.preference_set(user=emails["owner"], kind=Kind.COMMENTED, delivery=Delivery.HOURLY)
    services.preference_set(user=emails["owner"], kind=Kind.STORY_CHANGED, delivery=Delivery.HOURLY)
    story_services.comment_add(story=story, author=emails["member"], body="First look")
    story_services.comment_add(story=other, author=emails["member"], body="Numbers are off")
    story_services.story_block(story=story, reason="no access", actor=emails["member"])

    assert notifications_digest_task.apply(args=["daily"]).get() == 0, "the owner asked for hourly"
    assert notifications_digest_task.apply(args=["hourly"]).get() == 1, "one digest: the actor is told nothing"
    [mail] = smtp.inbox.to("owner@example.com")
    assert mail.subject == "[Sprintboard] Your hourly digest: 3 notifications"
    text = mail.body("plain")
    first, second = text.index("DATA-1 Ingest CRM"), text.index("DATA-2 Churn dashboard")
    assert first < text.index("First look") < text.index("blocked") < second < text.index("Numbers are off")
    assert text.count(f"{BASE}/p/DATA/stories/DATA-1/") == 3
    assert len(re.findall(rf"{BASE}/notifications/unsubscribe/[^\s]+/", text)) == 2, "one per kind"
    assert notifications_digest_task.apply(args=["hourly"]).get() == 0


def test_off_means_no_mail_but_still_in_the_app(story, emails, smtp):
    services.preference_set(user=emails["member"], kind=Kind.ASSIGNED, delivery=Delivery.OFF)
    story_services.story_assign(story=story, assignee=emails["member"], actor=emails["owner"])
    assert Notification.objects.get(user=emails["member"]).delivery == Delivery.OFF
    assert services.email_send_pending(older_than=timedelta(0)) == 0
    assert notifications_digest_task.apply(args=["daily"]).get() == 0
    assert smtp.inbox.messages == []


def test_the_unsubscribe_link_turns_that_kind_off_in_one_click(story, emails, smtp):
    story_services.story_assign(story=story, assignee=emails["member"], actor=emails["owner"])
    services.email_send_pending(older_than=timedelta(0))
    [mail] = smtp.inbox.messages
    link = re.search(rf"{BASE}(/notifications/unsubscribe/[^\s]+/)", mail.body("plain"))[1]
    anonymous = Client()
    assert anonymous.get(link).status_code == 200
    assert not NotificationPreference.objects.exists(), "a GET (a link checker) changes nothing"
    assert anonymous.post(link).status_code == 200
    pref = NotificationPreference.objects.get(user=emails["member"])
    assert (pref.kind, pref.delivery) == (Kind.ASSIGNED, Delivery.OFF)


def test_a_forged_unsubscribe_link_is_refused(emails):
    from apps.notifications.mail import unsubscribe_token

    token = unsubscribe_token(emails["member"].pk, Kind.ASSIGNED)
    response = Client().post(f"/notifications/unsubscribe/{token[:-2]}xx/")
    assert response.status_code == 400
    assert not NotificationPreference.objects.exists()
