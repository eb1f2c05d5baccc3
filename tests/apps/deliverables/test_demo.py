"""The demo's deliverables: linked to its stories, partly ticked, two or more published, and measurable."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from apps.deliverables import selectors
from apps.deliverables.models import Deliverable, DeliverableEvent
from apps.projects.models import CLOSED_CATEGORIES, Project
from apps.stories.selectors import engine_input
from sprintboard import dataops

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def project(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("seed_demo", "--i-know-this-is-not-production", stdout=StringIO())
        yield Project.objects.get(key="DATA")
        transaction.set_rollback(True)


def test_the_demo_has_its_four_deliverables_linked_to_stories(project):
    deliverables = {d.name: d for d in Deliverable.objects.filter(project=project)}
    assert set(deliverables) == {
        "CRM customers dataset",
        "Salesforce ingestion pipeline",
        "Revenue dashboard",
        "Churn risk model",
    }
    assert all(selectors.linked_stories(d).exists() for d in deliverables.values())


def test_published_ones_were_ready_when_published_and_others_are_partly_ticked(project):
    published = list(Deliverable.objects.filter(project=project, status="published"))
    assert len(published) >= 2
    for deliverable in published:
        assert not deliverable.checklist.filter(done=False).exists()
        stories = selectors.linked_stories(deliverable)
        assert all(s.state.category in CLOSED_CATEGORIES for s in stories)
        # every linked story finished before the publication (its last event is not later)
        assert all(s.updated_at <= deliverable.published_at for s in stories)
        ticks = DeliverableEvent.objects.filter(deliverable=deliverable, kind="item_ticked")
        assert ticks.count() == deliverable.checklist.count() and all(t.actor_id for t in ticks)
    churn = Deliverable.objects.get(project=project, name="Churn risk model")
    done = churn.checklist.filter(done=True).count()
    assert 0 < done < churn.checklist.count()


def test_a_stakeholder_signed_off_the_dashboard(project):
    item = Deliverable.objects.get(project=project, name="Revenue dashboard").checklist.get(text="Stakeholder sign-off")
    assert item.done and item.ticked_by.username == "stakeholder" and item.assignee.username == "stakeholder"


def test_dataops_metrics_come_out_of_the_demo(project):
    data = engine_input(project)
    report = dataops.dataops_report(
        data.events,
        stories=data.stories,
        workflow=data.workflow,
        tz=data.timezone,
        sprints=data.sprints,
        as_of=timezone.now(),
        deliverables=selectors.engine_deliverables(project),
        links=selectors.story_links(project),
    )
    assert len(report.deliverables) >= 2
    assert all(t.time_to_insight_days and t.validation_lag_days for t in report.deliverables)
    assert all(t.time_to_insight_days >= t.validation_lag_days for t in report.deliverables)
    assert sum(row.n for row in report.throughput) == len(report.deliverables)
