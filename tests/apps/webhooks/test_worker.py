"""A real Celery worker (``celery -A config worker``, tests/apps/reports/conftest.start_worker) sends to a real
receiver on 127.0.0.1: in order, every delivery once the receiver is back, and never on the change's time."""

from __future__ import annotations

import time

import pytest

from apps.stories import services as story_services
from apps.stories.selectors import TOP
from apps.webhooks import services
from apps.webhooks.models import Delivery, DeliveryStatus, Webhook
from tests.apps.webhooks.conftest import verify, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def all_delivered(webhook) -> bool:
    rows = Delivery.objects.filter(webhook=webhook)
    return rows.exists() and not rows.exclude(status=DeliveryStatus.DELIVERED).exists()


def test_a_receiver_down_for_a_while_gets_every_delivery_in_order_once_back(
    start_worker, project, people, states, receiver, allow_private, monkeypatch
):
    monkeypatch.setenv("SPRINTBOARD_WEBHOOK_RETRY_SECONDS", "1")
    monkeypatch.setenv("SPRINTBOARD_WEBHOOK_RETRY_MAX_SECONDS", "2")
    webhook, secret = services.webhook_create(
        project=project, actor=people["admin"], url=receiver.url, events=["story.created", "story.moved"]
    )
    receiver.stop()  # down: connections are refused
    start_worker()
    owner = people["owner"]
    stories = [story_services.story_create(project=project, actor=owner, title=f"Story {i}") for i in range(4)]
    for story in stories:
        story_services.story_update(story=story, actor=owner, state=states["In progress"])
    first = Delivery.objects.filter(webhook=webhook).order_by("id").first()
    wait_for(
        lambda: Delivery.objects.get(pk=first.pk).attempts >= 2, timeout=30, what="retries while the receiver is down"
    )
    assert not Delivery.objects.filter(webhook=webhook, status=DeliveryStatus.DELIVERED).exists()

    receiver.start()  # back, on the same port
    wait_for(lambda: all_delivered(webhook), timeout=60, what="every delivery")
    got = receiver.delivered()
    ids = [r.json["id"] for r in got]
    assert sorted(ids) == sorted(Delivery.objects.filter(webhook=webhook).values_list("pk", flat=True))
    assert len(ids) == len(set(ids)) == 8  # each once
    seqs = [r.json["seq"] for r in got]
    assert seqs == sorted(seqs) and seqs == list(project.events.order_by("seq").values_list("seq", flat=True))
    assert [r.json["event"] for r in got] == ["story.created"] * 4 + ["story.moved"] * 4
    for request in got:
        assert verify(
            secret, request.body, request.headers["X-Sprintboard-Signature"], request.headers["X-Sprintboard-Timestamp"]
        )
    assert Delivery.objects.get(pk=first.pk).attempts >= 3


def test_a_ten_second_receiver_does_not_slow_a_story_move(
    start_worker, project, people, states, receiver, allow_private, monkeypatch
):
    monkeypatch.setenv("SPRINTBOARD_WEBHOOK_TIMEOUT_SECONDS", "20")
    receiver.delay = 10
    owner = people["owner"]
    story = story_services.story_create(project=project, actor=owner, title="Slowly reported")
    other = story_services.story_create(project=project, actor=owner, title="Another")
    webhook, _ = services.webhook_create(
        project=project, actor=people["admin"], url=receiver.url, events=["story.moved"]
    )
    start_worker()

    started = time.monotonic()
    story_services.story_update(story=story, actor=owner, state=states["In progress"])  # a move across the board
    board_move = time.monotonic() - started
    wait_for(
        lambda: Webhook.objects.get(pk=webhook.pk).sending_until is not None, timeout=30, what="the worker to send"
    )
    time.sleep(1)  # the worker is now waiting on the receiver
    started = time.monotonic()
    story_services.story_move(story=other, actor=owner, placement=TOP)  # a move in the backlog, meanwhile
    backlog_move = time.monotonic() - started
    assert board_move < 1.0 and backlog_move < 1.0, (board_move, backlog_move)

    wait_for(lambda: all_delivered(webhook), timeout=60, what="the slow receiver's deliveries")
    durations = list(Delivery.objects.filter(webhook=webhook).order_by("id").values_list("duration_ms", flat=True))
    assert len(durations) == 2 and all(d >= 10_000 for d in durations)
    assert [r.json["story"] for r in receiver.delivered()] == [story.key, other.key]


@pytest.mark.django_db(transaction=True)
def test_without_a_broker_a_thread_sends_and_the_change_does_not_wait(
    project, people, receiver, allow_private, settings
):
    settings.CELERY_TASK_ALWAYS_EAGER = True  # the embedded default: no Redis, tasks in process
    receiver.delay = 3
    webhook, _ = services.webhook_create(project=project, actor=people["admin"], url=receiver.url, events=["*"])
    started = time.monotonic()
    story = story_services.story_create(project=project, actor=people["owner"], title="Reported from a thread")
    assert time.monotonic() - started < 1.0
    wait_for(lambda: all_delivered(webhook), timeout=30, what="the thread's delivery")
    assert [r.json["story"] for r in receiver.delivered()] == [story.key]
