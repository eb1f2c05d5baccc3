"""An admin adds a webhook in the browser, copies its secret, and reads and redelivers from its log."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from apps.projects import services as project_services
from apps.stories import services as story_services
from apps.webhooks import services as webhook_services
from apps.webhooks.models import Delivery, Webhook
from tests.apps.webhooks.conftest import Receiver, verify
from tests.e2e.conftest import click_through, open_page

pytestmark = pytest.mark.e2e


def test_an_admin_adds_a_webhook_and_redelivers_from_its_log(page, login, make_e2e_user, snapshot, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True  # the receiver is on 127.0.0.1
    receiver = Receiver()
    receiver.start()
    try:
        admin = make_e2e_user("ada")
        project = project_services.project_create(creator=admin, key="DATA", name="Data team")
        login(page, "ada")
        open_page(page, "/p/DATA/settings/")
        expect(page.locator("#webhooks")).to_contain_text("None yet.")
        click_through(page, page.get_by_role("link", name="Manage webhooks"))
        page.get_by_label("Payload URL").fill(receiver.url)
        page.get_by_label("All events (*)").uncheck()
        page.get_by_label("story.created").check()
        click_through(page, page.get_by_role("button", name="Add webhook"))
        secret = page.locator("#new-secret").inner_text()
        snapshot("secret-shown-once")
        webhook = Webhook.objects.get()
        assert webhook.secret == secret and webhook.events == ["story.created"]

        story_services.story_create(project=project, actor=admin, title="Ingest CRM")
        webhook_services.deliveries_send(webhook_id=webhook.pk)
        [got] = receiver.delivered()
        assert verify(secret, got.body, got.headers["X-Sprintboard-Signature"], got.headers["X-Sprintboard-Timestamp"])

        open_page(page, "/p/DATA/settings/webhooks/")
        expect(page.locator("#new-secret")).to_have_count(0)
        click_through(page, page.get_by_role("link", name=receiver.url))
        delivery = Delivery.objects.get()
        row = page.locator(f"#delivery-{delivery.pk}")
        expect(row).to_contain_text("story.created DATA-1")
        expect(row).to_contain_text("delivered")
        expect(row).to_contain_text("200")
        click_through(page, row.get_by_role("button", name=f"Redeliver delivery {delivery.pk}"))
        expect(page.get_by_role("status")).to_contain_text("is queued again")
        snapshot("log")
        assert Delivery.objects.filter(redelivery_of=delivery).count() == 1
    finally:
        receiver.stop()
