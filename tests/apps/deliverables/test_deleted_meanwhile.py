"""A write to a deliverable deleted since the request read it answers 404, not 500 (schemathesis found it:
a checklist item's DELETE racing its deliverable's DELETE on two gunicorn workers)."""

from __future__ import annotations

import pytest

from apps.core.errors import NotFound
from apps.deliverables import services
from apps.deliverables.models import ChecklistItem

pytestmark = pytest.mark.django_db


def test_removing_an_item_of_a_deliverable_deleted_meanwhile_is_a_not_found(world, people):
    item = ChecklistItem.objects.select_related("deliverable").get(pk=world.item.pk)  # what the request read
    services.deliverable_delete(deliverable=world.deliverable, actor=people["owner"])  # the other request
    with pytest.raises(NotFound):
        services.checklist_item_remove(item=item, actor=people["member"])
