"""The webhooks page of a project's settings (admins): add (the secret shown once), pause, delete, the log."""

from __future__ import annotations

import pytest

from apps.stories import services as story_services
from apps.webhooks import services
from apps.webhooks.models import Delivery, Webhook

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _data_project(project):
    return project


def test_the_settings_page_links_to_the_webhooks(as_user):
    page = as_user("admin").get("/p/DATA/settings/")
    assert page.status_code == 200
    assert 'href="/p/DATA/settings/webhooks/"' in page.content.decode()


def test_only_admins_see_the_webhooks_page(as_user):
    assert as_user("owner").get("/p/DATA/settings/webhooks/").status_code == 403
    assert as_user("outsider").get("/p/DATA/settings/webhooks/").status_code == 404


def test_adding_a_webhook_shows_its_secret_once(as_user, receiver, allow_private):
    client = as_user("admin")
    answer = client.post(
        "/p/DATA/settings/webhooks/", {"url": receiver.url, "events": ["story.created", "sprint.closed"]}
    )
    assert answer.status_code == 200
    webhook = Webhook.objects.get()
    assert webhook.events == ["story.created", "sprint.closed"]
    assert webhook.secret in answer.content.decode()
    assert webhook.secret not in client.get("/p/DATA/settings/webhooks/").content.decode()


def test_a_private_address_is_refused_beside_the_field(as_user, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    answer = as_user("admin").post("/p/DATA/settings/webhooks/", {"url": "http://169.254.169.254/", "events": ["*"]})
    assert answer.status_code == 400 and "public addresses only" in answer.content.decode()
    assert not Webhook.objects.exists()


def test_pause_delete_log_and_redeliver(as_user, project, people, receiver, allow_private):
    client = as_user("admin")
    webhook, _ = services.webhook_create(project=project, actor=people["admin"], url=receiver.url, events=["*"])
    story_services.story_create(project=project, actor=people["owner"], title="Ingest CRM")
    services.deliveries_send(webhook_id=webhook.pk)
    delivery = Delivery.objects.get()

    log = client.get(f"/p/DATA/settings/webhooks/{webhook.pk}/").content.decode()
    assert f'id="delivery-{delivery.pk}"' in log and "story.created" in log and "delivered" in log
    redeliver = client.post(f"/p/DATA/settings/webhooks/{webhook.pk}/deliveries/{delivery.pk}/redeliver/")
    assert redeliver.status_code == 302 and Delivery.objects.filter(redelivery_of=delivery).exists()

    assert client.post(f"/p/DATA/settings/webhooks/{webhook.pk}/active/", {"active": "0"}).status_code == 302
    webhook.refresh_from_db()
    assert not webhook.active
    assert client.post(f"/p/DATA/settings/webhooks/{webhook.pk}/delete/").status_code == 302
    assert not Webhook.objects.exists()
