"""Queueing and sending, with the task's own function (``deliveries_send``) against a real receiver."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.core.errors import InvalidInput, StaleVersion
from apps.deliverables import services as deliverable_services
from apps.intake import services as intake_services
from apps.stories import services as story_services
from apps.webhooks import services
from apps.webhooks.models import Delivery, DeliveryStatus, Webhook
from tests.apps.intake.helpers import email_request
from tests.apps.webhooks.conftest import verify

pytestmark = pytest.mark.django_db
SECRET = "sixteen-chars-or-more"


@pytest.fixture
def hook(project, people, receiver, allow_private):
    webhook, _ = services.webhook_create(
        project=project, actor=people["admin"], url=receiver.url, events=["*"], secret=SECRET
    )
    return webhook


def bodies(receiver) -> list[dict]:
    return [r.json for r in receiver.delivered()]


def test_a_secret_is_generated_when_none_is_given(project, people, receiver, allow_private):
    webhook, secret = services.webhook_create(project=project, actor=people["admin"], url=receiver.url, events=["*"])
    assert len(secret) >= 32 and webhook.secret == secret


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"url": "http://127.0.0.1/x"}, "url"),
        ({"url": "ftp://example.com/"}, "url"),
        ({"url": 5}, "url"),
        ({"events": []}, "events"),
        ({"events": ["story.exploded"]}, "events"),
        ({"events": "*"}, "events"),
        ({"secret": "short"}, "secret"),
        ({"secret": 123}, "secret"),
    ],
)
def test_bad_webhooks_are_refused_naming_the_field(project, people, settings, fields, field):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    data = {"url": "https://93.184.215.14/hook", "events": ["*"], **fields}
    with pytest.raises(InvalidInput) as refused:
        services.webhook_create(project=project, actor=people["admin"], **data)
    assert refused.value.field == field
    assert not Webhook.objects.exists()


def test_story_events_become_deliveries_with_the_event_log_s_fields(hook, project, people, states, receiver):
    owner, member = people["owner"], people["member"]
    story = story_services.story_create(project=project, actor=owner, title="Ingest CRM", points=3)
    story_services.story_update(story=story, actor=member, points=5)
    story_services.story_update(story=story, actor=member, state=states["In progress"])
    story_services.story_delete(story=story, actor=member)

    assert services.deliveries_send(webhook_id=hook.pk) == 4
    got = bodies(receiver)
    assert [b["event"] for b in got] == ["story.created", "story.changed", "story.moved", "story.deleted"]
    assert [b["seq"] for b in got] == sorted(b["seq"] for b in got)
    assert all(b["story"] == story.key and b["project"] == {"key": "DATA", "name": "Data team"} for b in got)
    changed = got[1]
    assert changed["actor"] == "member"
    assert changed["data"] == {"kind": "points", "field": "", "from": 3, "to": 5}  # as the log holds it
    assert got[2]["data"]["kind"] == "state" and got[2]["data"]["to"] == states["In progress"].pk
    events = list(story.events.order_by("seq"))
    assert [b["seq"] for b in got] == [e.seq for e in events]
    assert changed["at"] == events[1].at.isoformat()
    for request, body in zip(receiver.delivered(), got, strict=True):
        delivery = Delivery.objects.get(pk=body["id"])
        assert delivery.status == DeliveryStatus.DELIVERED and delivery.response_code == 200
        assert delivery.attempts == 1 and delivery.duration_ms is not None
        assert request.headers["X-Sprintboard-Delivery"] == str(delivery.pk)
        assert verify(
            SECRET, request.body, request.headers["X-Sprintboard-Signature"], request.headers["X-Sprintboard-Timestamp"]
        )


def test_a_webhook_gets_only_the_events_it_asked_for(project, people, states, receiver, allow_private):
    webhook, _ = services.webhook_create(
        project=project, actor=people["admin"], url=receiver.url, events=["story.moved", "sprint.started"]
    )
    story = story_services.story_create(project=project, actor=people["owner"], title="A", points=1)
    story_services.story_update(story=story, actor=people["owner"], points=2)
    story_services.story_update(story=story, actor=people["owner"], state=states["In progress"])
    sprint = story_services.sprint_create(project=project, actor=people["owner"])
    assert [d.event for d in Delivery.objects.filter(webhook=webhook).order_by("id")] == ["story.moved"]
    assert services.deliveries_send(webhook_id=webhook.pk) == 1
    assert bodies(receiver)[0]["event"] == "story.moved"
    assert sprint  # sprint.started is sent after the start commits: tests/apps/webhooks/test_worker.py


def test_a_refused_change_queues_nothing(hook, project, people):
    story = story_services.story_create(project=project, actor=people["owner"], title="A")
    before = Delivery.objects.count()
    with pytest.raises(StaleVersion):
        story_services.story_update(story=story, actor=people["owner"], expected_version=99, points=3)
    assert Delivery.objects.count() == before


def test_deliverable_and_request_events(hook, project, people, receiver):
    owner, member, stakeholder = people["owner"], people["member"], people["stakeholder"]
    deliverable = deliverable_services.deliverable_create(
        project=project, actor=owner, name="CRM dataset", kind="dataset", status="in_development"
    )
    for item in deliverable.checklist.all():
        deliverable_services.checklist_item_update(item=item, actor=member, done=True)
    deliverable_services.deliverable_update(deliverable=deliverable, actor=member, status="validating")
    deliverable_services.deliverable_publish(deliverable=deliverable, actor=member)
    request = intake_services.request_submit(project=project, requester=stakeholder, title="Churn by region")
    intake_services.request_decline(request=request, actor=owner, reason="Out of scope")

    services.deliveries_send(webhook_id=hook.pk)
    got = [(b["event"], b["data"].get("to") or b["data"].get("request", {}).get("status")) for b in bodies(receiver)]
    assert got == [
        ("deliverable.status", "validating"),
        ("deliverable.status", "published"),
        ("deliverable.published", "published"),
        ("request.submitted", "open"),
        ("request.triaged", "declined"),
    ]
    triaged = bodies(receiver)[-1]
    assert triaged["actor"] == "owner" and triaged["data"]["request"]["decline_reason"] == "Out of scope"
    assert triaged["data"]["request"]["requester_email"] is None, "asked on the web, by a member"
    assert bodies(receiver)[0]["data"]["deliverable"]["name"] == "CRM dataset"


def test_an_emailed_request_names_its_sender_address(hook, project, receiver):
    email_request(project, "Churn")
    services.deliveries_send(webhook_id=hook.pk)
    [submitted] = bodies(receiver)
    request = submitted["data"]["request"]
    assert (submitted["event"], request["channel"], request["requester"], request["requester_email"]) == (
        "request.submitted",
        "email",
        None,
        "client@elsewhere.org",
    )


def test_a_failed_delivery_holds_back_the_later_ones_and_backs_off(hook, project, people, receiver, settings):
    settings.WEBHOOK_RETRY_SECONDS = 30
    receiver.code = 503
    for title in ("A", "B", "C"):
        story_services.story_create(project=project, actor=people["owner"], title=title)
    assert services.deliveries_send(webhook_id=hook.pk) == 0
    assert len(receiver.requests) == 1  # the first, refused: the others wait behind it
    first, *rest = Delivery.objects.filter(webhook=hook).order_by("id")
    assert first.status == DeliveryStatus.RETRYING and first.attempts == 1 and first.response_code == 503
    assert timedelta(seconds=29) < first.next_try_at - first.last_try_at <= timedelta(seconds=30)
    assert all(d.status == DeliveryStatus.PENDING and d.attempts == 0 for d in rest)
    hook.refresh_from_db()
    assert hook.failing_since is not None and hook.active

    services.deliveries_send(webhook_id=hook.pk)  # not due yet: nothing is sent
    assert len(receiver.requests) == 1

    Delivery.objects.filter(pk=first.pk).update(next_try_at=timezone.now())  # its time has come
    services.deliveries_send(webhook_id=hook.pk)
    first.refresh_from_db()
    assert first.attempts == 2
    assert timedelta(seconds=59) < first.next_try_at - first.last_try_at <= timedelta(seconds=60)  # doubled

    receiver.code = 200
    Delivery.objects.filter(pk=first.pk).update(next_try_at=timezone.now())
    assert services.deliveries_send(webhook_id=hook.pk) == 3
    assert [b["data"]["to"]["title"] for b in bodies(receiver)] == ["A", "B", "C"]
    hook.refresh_from_db()
    assert hook.failing_since is None


def test_a_webhook_failing_for_a_day_is_disabled_and_the_admins_are_told(
    hook, project, people, receiver, caplog, client
):
    receiver.code = 500
    story_services.story_create(project=project, actor=people["owner"], title="A")
    Webhook.objects.filter(pk=hook.pk).update(failing_since=timezone.now() - timedelta(hours=24, minutes=1))
    with caplog.at_level(logging.WARNING, logger="apps.webhooks.services"):
        services.deliveries_send(webhook_id=hook.pk)
    hook.refresh_from_db()
    assert not hook.active and hook.disabled_at is not None and "Answered 500" in hook.disabled_reason
    assert any(
        f"webhook {hook.pk} of project" in r.getMessage() and "disabled" in r.getMessage() for r in caplog.records
    )

    client.force_login(people["admin"])
    page = client.get("/p/DATA/settings/").content.decode()
    assert "Webhook disabled:" in page and receiver.url in page
    # ... and told in the app and by e-mail (the admins only: they can fix it).
    from apps.notifications.models import Notification

    told = Notification.objects.filter(kind="webhook_disabled")
    assert [n.user.username for n in told] == ["admin"] and receiver.url in told[0].text
    assert told[0].url == f"/p/DATA/settings/webhooks/{hook.pk}/"

    # Disabled: new events are not queued for it, nothing is sent.
    story_services.story_create(project=project, actor=people["owner"], title="B")
    assert Delivery.objects.filter(webhook=hook).count() == 1
    assert services.deliveries_send(webhook_id=hook.pk) == 0

    # Turned back on once the receiver is fixed: what waited is sent.
    receiver.code = 200
    services.webhook_update(webhook=hook, active=True)
    assert services.deliveries_send(webhook_id=hook.pk) == 1
    hook.refresh_from_db()
    assert hook.active and hook.disabled_at is None and hook.failing_since is None


def test_redeliver_sends_the_event_again_as_a_new_delivery(hook, project, people, receiver):
    story_services.story_create(project=project, actor=people["owner"], title="A")
    services.deliveries_send(webhook_id=hook.pk)
    first = Delivery.objects.get(webhook=hook)
    again = services.delivery_redeliver(delivery=first)
    services.deliveries_send(webhook_id=hook.pk)
    one, two = bodies(receiver)
    assert one["id"] == first.pk and two["id"] == again.pk
    assert {k: v for k, v in one.items() if k != "id"} == {k: v for k, v in two.items() if k != "id"}
    again.refresh_from_db()
    assert again.redelivery_of_id == first.pk and again.status == DeliveryStatus.DELIVERED


def test_one_sender_at_a_time(hook, project, people, receiver):
    story_services.story_create(project=project, actor=people["owner"], title="A")
    Webhook.objects.filter(pk=hook.pk).update(sending_until=timezone.now() + timedelta(minutes=1))
    assert services.deliveries_send(webhook_id=hook.pk) == 0  # another worker holds the lease
    assert receiver.requests == []
    Webhook.objects.filter(pk=hook.pk).update(sending_until=timezone.now() - timedelta(seconds=1))  # it died
    assert services.deliveries_send(webhook_id=hook.pk) == 1


def test_the_sweep_asks_for_due_deliveries_only(hook, project, people, receiver, settings):
    assert services.deliveries_sweep() == 0
    story_services.story_create(project=project, actor=people["owner"], title="A")
    settings.CELERY_TASK_ALWAYS_EAGER = False
    from config.celery import app

    queue = app.conf.task_default_queue  # deliveries go where every on-demand task goes
    with app.connection_for_write() as conn:
        conn.default_channel.client.delete(queue)
        assert services.deliveries_sweep() == 1
        assert conn.default_channel.client.llen(queue) == 1
        conn.default_channel.client.delete(queue)
    Delivery.objects.filter(webhook=hook).update(next_try_at=timezone.now() + timedelta(minutes=5))
    assert services.deliveries_sweep() == 0


def test_sprint_events_are_queued_once_the_start_and_close_commit(
    hook, project, people, receiver, django_capture_on_commit_callbacks
):
    sprint = story_services.sprint_create(project=project, actor=people["owner"], goal="Ship the CRM feed")
    with django_capture_on_commit_callbacks(execute=True):
        story_services.sprint_start(sprint=sprint, actor=people["owner"])
    with django_capture_on_commit_callbacks(execute=True):
        story_services.sprint_close(sprint=sprint, actor=people["owner"], unfinished="backlog")
    services.deliveries_send(webhook_id=hook.pk)
    started, closed = bodies(receiver)
    assert (started["event"], closed["event"]) == ("sprint.started", "sprint.closed")
    assert started["data"]["sprint"]["goal"] == "Ship the CRM feed" and started["actor"] == "owner"
    assert closed["data"]["sprint"]["status"] == "closed" and closed["story"] is None


def test_the_sweep_forgets_deliveries_delivered_a_month_ago(hook, project, people, receiver):
    for title in ("Old", "Recent"):
        story_services.story_create(project=project, actor=people["owner"], title=title)
    services.deliveries_send(webhook_id=hook.pk)
    old, recent = Delivery.objects.filter(webhook=hook).order_by("id")
    Delivery.objects.filter(pk=old.pk).update(delivered_at=timezone.now() - timedelta(days=31))
    services.deliveries_sweep()
    assert list(Delivery.objects.filter(webhook=hook)) == [recent]


def test_the_project_s_flag_follows_its_active_webhooks(project, people, receiver, allow_private, settings):
    def flag() -> bool:
        project.refresh_from_db(fields=["webhooks_active"])
        return project.webhooks_active

    assert not flag()
    first, _ = services.webhook_create(project=project, actor=people["admin"], url=receiver.url, events=["*"])
    second, _ = services.webhook_create(project=project, actor=people["admin"], url=receiver.url, events=["*"])
    assert flag()
    services.webhook_update(webhook=first, active=False)
    assert flag(), "the second still listens"
    services.webhook_delete(webhook=second)
    assert not flag()
    services.webhook_update(webhook=first, active=True)
    assert flag()

    # Disabled after failing for a day: the flag goes down with it.
    receiver.code = 500
    story_services.story_create(project=project, actor=people["owner"], title="A")
    Webhook.objects.filter(pk=first.pk).update(failing_since=timezone.now() - timedelta(hours=25))
    services.deliveries_send(webhook_id=first.pk)
    assert not flag()


def test_a_story_write_in_a_project_without_webhooks_asks_nothing_about_them(project, people):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    story = story_services.story_create(project=project, actor=people["owner"], title="A")
    with CaptureQueriesContext(connection) as queries:
        story_services.story_update(story=story, actor=people["owner"], title="B")
    assert not [q["sql"] for q in queries.captured_queries if "webhooks_webhook" in q["sql"]]
    assert Delivery.objects.count() == 0
