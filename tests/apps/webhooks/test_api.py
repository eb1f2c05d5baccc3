"""/api/v1/projects/{KEY}/webhooks/ and /api/v1/webhooks/{id}/…: the secret once, SSRF refusals, the log."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.stories import services as story_services
from apps.webhooks import services
from apps.webhooks.models import Delivery, Webhook

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(people, project):
    client = APIClient()
    client.force_authenticate(people["admin"])
    return client


def test_the_secret_is_shown_once_at_creation(api, receiver, allow_private):
    created = api.post("/api/v1/projects/DATA/webhooks/", {"url": receiver.url, "events": ["*"]}, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert len(body["secret"]) >= 32 and body["events"] == ["*"] and body["active"] and body["project"] == "DATA"
    assert Webhook.objects.get(pk=body["id"]).secret == body["secret"]
    read = api.get(f"/api/v1/webhooks/{body['id']}/").json()
    listed = api.get("/api/v1/projects/DATA/webhooks/").json()["results"]
    assert "secret" not in read and all("secret" not in hook for hook in listed)
    assert read["url"] == receiver.url and read["created_by"] == "admin"


def test_a_given_secret_is_kept(api, receiver, allow_private):
    body = {"url": receiver.url, "events": ["story.moved"], "secret": "my-own-secret-of-32-characters!!"}
    created = api.post("/api/v1/projects/DATA/webhooks/", body, format="json").json()
    assert created["secret"] == body["secret"] and created["events"] == ["story.moved"]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.5/hook",
        "http://[::1]/hook",
        "http://localhost/hook",
        "file:///etc/passwd",
    ],
)
def test_private_addresses_are_refused_without_the_operator_s_override(api, settings, url):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    answer = api.post("/api/v1/projects/DATA/webhooks/", {"url": url, "events": ["*"]}, format="json")
    assert answer.status_code == 400
    [error] = answer.json()["errors"]
    assert error["field"] == "url"
    assert not Webhook.objects.exists()


def test_changing_a_webhook_to_a_private_address_is_refused(api, project, people, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    webhook, _ = services.webhook_create(
        project=project, actor=people["admin"], url="https://93.184.215.14/", events=["*"]
    )
    answer = api.patch(f"/api/v1/webhooks/{webhook.pk}/", {"url": "http://169.254.169.254/"}, format="json")
    assert answer.status_code == 400 and answer.json()["errors"][0]["field"] == "url"
    webhook.refresh_from_db()
    assert webhook.url == "https://93.184.215.14/"


def test_bad_events_name_the_field(api, allow_private, receiver):
    for events in (["story.exploded"], [], "all", [1]):
        answer = api.post("/api/v1/projects/DATA/webhooks/", {"url": receiver.url, "events": events}, format="json")
        assert answer.status_code == 400 and answer.json()["errors"][0]["field"] == "events"


def test_pause_resume_and_delete(api, project, people, receiver, allow_private):
    webhook, _ = services.webhook_create(project=project, actor=people["admin"], url=receiver.url, events=["*"])
    paused = api.patch(f"/api/v1/webhooks/{webhook.pk}/", {"active": False}, format="json").json()
    assert paused["active"] is False
    story_services.story_create(project=project, actor=people["owner"], title="Not sent")
    assert not Delivery.objects.exists()  # a paused webhook queues nothing
    assert api.patch(f"/api/v1/webhooks/{webhook.pk}/", {"active": "yes"}, format="json").status_code == 400
    assert api.patch(f"/api/v1/webhooks/{webhook.pk}/", {"active": True}, format="json").json()["active"] is True
    assert api.delete(f"/api/v1/webhooks/{webhook.pk}/").status_code == 204
    assert not Webhook.objects.exists()


def test_the_delivery_log_and_redeliver(api, project, people, receiver, allow_private):
    webhook, _ = services.webhook_create(project=project, actor=people["admin"], url=receiver.url, events=["*"])
    story = story_services.story_create(project=project, actor=people["owner"], title="Ingest CRM")
    services.deliveries_send(webhook_id=webhook.pk)
    log = api.get(f"/api/v1/webhooks/{webhook.pk}/deliveries/").json()
    [entry] = log["results"]
    assert entry["event"] == "story.created" and entry["status"] == "delivered" and entry["response_code"] == 200
    assert entry["attempts"] == 1 and entry["duration_ms"] is not None and entry["next_try_at"] is None
    assert entry["payload"]["story"] == story.key

    again = api.post(f"/api/v1/webhooks/{webhook.pk}/deliveries/{entry['id']}/redeliver/")
    assert again.status_code == 202
    assert again.json()["status"] == "pending" and again.json()["redelivery_of"] == entry["id"]
    services.deliveries_send(webhook_id=webhook.pk)
    assert [r.json["id"] for r in receiver.delivered()] == [entry["id"], again.json()["id"]]
    assert api.get(f"/api/v1/webhooks/{webhook.pk}/").json()["waiting"] == 0


def test_a_delivery_of_another_webhook_is_not_found(api, project, people, receiver, allow_private):
    one, _ = services.webhook_create(project=project, actor=people["admin"], url=receiver.url, events=["*"])
    two, _ = services.webhook_create(project=project, actor=people["admin"], url=receiver.url, events=["*"])
    story_services.story_create(project=project, actor=people["owner"], title="A")
    delivery = Delivery.objects.get(webhook=one)
    assert api.post(f"/api/v1/webhooks/{two.pk}/deliveries/{delivery.pk}/redeliver/").status_code == 404


def test_another_project_s_admin_sees_nothing(project, people, receiver, allow_private):
    webhook, _ = services.webhook_create(project=project, actor=people["admin"], url=receiver.url, events=["*"])
    outsider = APIClient()
    outsider.force_authenticate(people["outsider"])  # admin of OTHER
    assert outsider.get(f"/api/v1/webhooks/{webhook.pk}/").status_code == 404
    assert outsider.get(f"/api/v1/webhooks/{webhook.pk}/deliveries/").status_code == 404
