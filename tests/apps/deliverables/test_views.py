from __future__ import annotations

from datetime import date

import pytest
from django.test import Client

from apps.deliverables import selectors, services
from apps.deliverables.models import ChecklistTemplate, Deliverable
from apps.stories import services as story_services

pytestmark = pytest.mark.django_db


@pytest.fixture
def dashboard(project, people, states):
    deliverable = services.deliverable_create(
        project=project,
        actor=people["member"],
        name="Revenue dashboard",
        kind="dashboard",
        owner=people["member"],
        consumers=[people["stakeholder"]],
        consumer_groups=["Finance"],
        data_sources=["Stripe invoices", "Salesforce"],
        description="MRR by segment.",
        status="validating",
        target_date=date(2020, 1, 31),
    )
    story_services.story_create(
        project=project,
        actor=people["member"],
        title="Build fct_mrr",
        points=5,
        deliverable=deliverable,
        state=states["Done"],
    )
    story_services.story_create(
        project=project,
        actor=people["member"],
        title="Region filter",
        points=3,
        deliverable=deliverable,
        state=states["In progress"],
    )
    return deliverable


def url(deliverable, suffix=""):
    return f"/p/DATA/deliverables/{deliverable.pk}/{suffix}"


def test_the_catalogue_shows_progress_checklist_and_late_ones(browser_for, dashboard, project, people):
    services.deliverable_create(project=project, actor=people["member"], name="Churn model", kind="ml_model")
    page = browser_for("stakeholder").get("/p/DATA/deliverables/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "Revenue dashboard" in html and "Churn model" in html
    assert "1/2 stories · 5/8 pts" in html and "0/4" in html
    assert html.count('class="badge late"') == 1  # the dashboard's target date is past; the model has none
    assert "New deliverable" not in html


def test_the_catalogue_filters_by_kind_status_and_consumer(browser_for, dashboard, project, people):
    services.deliverable_create(
        project=project,
        actor=people["member"],
        name="Churn model",
        kind="ml_model",
        consumer_groups=["Customer success"],
    )
    client = browser_for("member")
    assert "Churn model" not in client.get("/p/DATA/deliverables/?kind=dashboard").content.decode()
    assert "Revenue dashboard" not in client.get("/p/DATA/deliverables/?status=proposed").content.decode()
    by_group = client.get("/p/DATA/deliverables/?consumer=Customer+success").content.decode()
    assert "Churn model" in by_group and "Revenue dashboard" not in by_group
    by_user = client.get("/p/DATA/deliverables/?consumer=stakeholder").content.decode()
    assert "Revenue dashboard" in by_user and "Churn model" not in by_user
    assert client.get("/p/DATA/deliverables/?kind=nonsense").status_code == 400


def test_outsiders_get_404_and_anonymous_users_log_in(browser_for, dashboard):
    assert browser_for("outsider").get("/p/DATA/deliverables/").status_code == 404
    assert browser_for("outsider").get(url(dashboard)).status_code == 404
    assert Client().get("/p/DATA/deliverables/").status_code == 302


def test_a_member_creates_a_deliverable_and_bad_input_changes_nothing(browser_for, project):
    client = browser_for("member")
    bad = client.post(
        "/p/DATA/deliverables/new/", {"name": "Orders", "kind": "dataset", "status": "proposed", "link": "javascript:x"}
    )
    assert bad.status_code == 400 and "http(s) address" in bad.content.decode()
    assert not Deliverable.objects.exists()
    good = client.post(
        "/p/DATA/deliverables/new/",
        {
            "name": "Orders",
            "kind": "dataset",
            "status": "proposed",
            "consumers": ["stakeholder"],
            "consumer_groups": "Finance, Ops",
            "data_sources": "ERP\nStripe\n",
            "link": "https://wiki.example.com/orders",
        },
    )
    deliverable = Deliverable.objects.get()
    assert good.status_code == 302 and good["Location"] == url(deliverable)
    assert (deliverable.consumer_groups, deliverable.data_sources) == (["Finance", "Ops"], ["ERP", "Stripe"])
    assert deliverable.checklist.count() == 4
    assert browser_for("stakeholder").get("/p/DATA/deliverables/new/").status_code == 403


def test_the_deliverable_page_shows_everything_and_what_blocks_publication(browser_for, dashboard):
    html = browser_for("stakeholder").get(url(dashboard)).content.decode()
    for text in (
        "MRR by segment.",
        "stakeholder, Finance",
        "Stripe invoices",
        "Build fct_mrr",
        "Region filter",
        "In progress",
        "Figures reconciled with the source",
        "Before it can be published",
        "created it (Validating)",
    ):
        assert text in html, text
    assert "DATA-2</strong> “Region filter” is not finished" in html
    assert "Publish" not in html  # stakeholders read


def test_publishing_from_the_page_is_refused_and_names_each_open_item_and_story(browser_for, dashboard):
    response = browser_for("member").post(url(dashboard, "publish/"), HTTP_REFERER=url(dashboard, ""), follow=True)
    html = response.content.decode()
    assert response.redirect_chain == [(url(dashboard, ""), 302)]  # back to the page, which lists what blocks it
    assert "cannot be published yet" in html
    for item in dashboard.checklist.all():
        assert f"“{item.text}”</a> is not ticked" in html
    assert "Region filter" in html
    assert Deliverable.objects.get(pk=dashboard.pk).status == "validating"


def test_publishing_from_the_page_once_everything_is_done(browser_for, dashboard, states, people):
    story = dashboard.stories.get(title="Region filter")
    story_services.story_change_state(story=story, state=states["Done"], actor=people["member"])
    client = browser_for("member")
    for item in dashboard.checklist.all():
        assert client.post(url(dashboard, f"checklist/{item.pk}/tick/"), {"done": "1"}).status_code == 302
    response = client.post(url(dashboard, "publish/"), follow=True)
    assert response.status_code == 200 and "is published" in response.content.decode()
    assert Deliverable.objects.get(pk=dashboard.pk).status == "published"


def test_a_stakeholder_ticks_an_item_assigned_to_them_only(browser_for, dashboard, people):
    first, second = list(dashboard.checklist.order_by("position"))[:2]
    services.checklist_item_update(item=first, actor=people["member"], assignee=people["stakeholder"])
    client = browser_for("stakeholder")
    assert client.post(url(dashboard, f"checklist/{second.pk}/tick/"), {"done": "1"}).status_code == 403
    response = client.post(
        url(dashboard, f"checklist/{first.pk}/tick/"), {"done": "1", "evidence_url": "https://docs.example.com/ok"}
    )
    assert response.status_code == 302
    first.refresh_from_db()
    assert (first.done, first.ticked_by, first.evidence_url) == (
        True,
        people["stakeholder"],
        "https://docs.example.com/ok",
    )
    html = client.get(url(dashboard)).content.decode()
    assert "Ticked by stakeholder" in html and "ticked “Figures reconciled with the source”" in html


def test_a_bad_evidence_link_is_shown_beside_the_item_and_changes_nothing(browser_for, dashboard):
    item = dashboard.checklist.first()
    response = browser_for("member").post(
        url(dashboard, f"checklist/{item.pk}/tick/"), {"done": "1", "evidence_url": "nope"}
    )
    assert response.status_code == 400 and "http(s) address" in response.content.decode()
    item.refresh_from_db()
    assert not item.done


def test_members_add_assign_and_remove_items(browser_for, dashboard):
    client = browser_for("member")
    assert client.post(url(dashboard, "checklist/"), {"text": ""}).status_code == 400
    assert (
        client.post(url(dashboard, "checklist/"), {"text": "Load tested", "assignee": "stakeholder"}).status_code == 302
    )
    item = dashboard.checklist.get(text="Load tested")
    assert item.assignee.username == "stakeholder"
    assert client.post(url(dashboard, f"checklist/{item.pk}/assign/"), {"assignee": ""}).status_code == 302
    item.refresh_from_db()
    assert item.assignee is None
    assert client.post(url(dashboard, f"checklist/{item.pk}/remove/")).status_code == 302
    assert not dashboard.checklist.filter(text="Load tested").exists()


def test_editing_with_a_stale_version_changes_nothing(browser_for, dashboard, people):
    client = browser_for("member")
    form = {"name": "Revenue v2", "kind": "dashboard", "status": "validating", "version": 1}
    services.deliverable_update(deliverable=dashboard, actor=people["owner"], description="Changed meanwhile")
    response = client.post(url(dashboard, "edit/"), form)
    assert response.status_code == 400 and "Someone else changed this deliverable" in response.content.decode()
    assert Deliverable.objects.get(pk=dashboard.pk).name == "Revenue dashboard"
    assert client.post(url(dashboard, "edit/"), {**form, "version": 2}).status_code == 302
    assert Deliverable.objects.get(pk=dashboard.pk).name == "Revenue v2"


def test_admins_edit_the_templates_and_others_only_read_them(browser_for, project):
    assert (
        "Only admins edit the templates"
        in browser_for("member").get("/p/DATA/deliverables/checklists/").content.decode()
    )
    assert browser_for("member").post("/p/DATA/deliverables/checklists/", {"dashboard": "x"}).status_code == 403
    admin = browser_for("admin")
    assert admin.get("/p/DATA/deliverables/checklists/").status_code == 200
    response = admin.post(
        "/p/DATA/deliverables/checklists/",
        {kind: "\n".join(items) for kind, items in selectors.template_items(project).items()}
        | {"dashboard": "Numbers reconciled\n\nOwner named\n"},
    )
    assert response.status_code == 302
    assert list(ChecklistTemplate.objects.filter(project=project).values_list("kind", "items")) == [
        ("dashboard", ["Numbers reconciled", "Owner named"])
    ]


def test_the_page_lists_the_proposed_status_and_offers_to_start_development(browser_for, project, people):
    proposed = services.deliverable_create(
        project=project, actor=people["member"], name="Churn model", kind="ml_model", status="proposed"
    )
    client = browser_for("member")
    html = client.get(url(proposed, "")).content.decode()
    blockers = html[html.index('id="blockers"') : html.index("</section>", html.index('id="blockers"'))]
    assert "It is only proposed" in blockers and "Start its development" in blockers
    assert "No story is linked to it" in blockers
    assert browser_for("stakeholder").post(url(proposed, "develop/")).status_code == 403
    response = client.post(url(proposed, "develop/"), follow=True)
    assert "Churn model is in development." in response.content.decode()
    assert Deliverable.objects.get(pk=proposed.pk).status == "in_development"
    assert "It is only proposed" not in response.content.decode()
    for item in proposed.checklist.all():
        client.post(url(proposed, f"checklist/{item.pk}/tick/"), {"done": "1"})
    published = client.post(url(proposed, "publish/"), follow=True).content.decode()
    assert "Churn model is published." in published and "No story is linked to Churn model" in published


def test_people_are_named_in_full_on_a_deliverable(browser_for, dashboard, people):
    people["member"].first_name, people["member"].last_name = "Mia", "Member"
    people["member"].save()
    html = browser_for("stakeholder").get(url(dashboard, "")).content.decode()
    assert "<dt>Owner</dt><dd>Mia Member</dd>" in html


# --- Pipeline runs on the pages --------------------------------------------------------------------------


def test_the_page_shows_runs_freshness_and_the_bound_items(browser_for, dashboard, people):
    from django.utils import timezone

    from sprintboard.pipelines import parse_run
    from tests.sprintboard.pipeline_builders import dbt_failing, dbt_passing

    client = browser_for("member")
    edit = client.post(
        url(dashboard, "edit/"),
        {
            "name": dashboard.name,
            "kind": dashboard.kind,
            "status": dashboard.status,
            "expected_interval_hours": "24",
            "version": dashboard.version,
        },
    )
    assert edit.status_code == 302, edit.content.decode()[:2000]
    dashboard.refresh_from_db()
    assert dashboard.expected_interval_hours == 24
    assert "No successful run yet" in client.get(url(dashboard)).content.decode()
    item = dashboard.checklist.order_by("position").first()
    bound = client.post(url(dashboard, f"checklist/{item.pk}/bind/"), {"bound_source": "dbt", "bound_job": ""})
    assert bound.status_code == 302
    assert (
        browser_for("stakeholder")
        .post(url(dashboard, f"checklist/{item.pk}/bind/"), {"bound_source": "dbt"})
        .status_code
        == 403
    )
    recent = dbt_passing()
    for result in recent["results"]:
        result["timing"][-1]["completed_at"] = timezone.now().isoformat()
    services.pipeline_run_record(deliverable=dashboard, actor=people["member"], report=parse_run(recent))
    html = client.get(url(dashboard)).content.decode()
    assert "Ticked by dbt tests runs" in html and "Ticked by a pipeline run" in html
    assert "expected every 24 h: <strong>fresh</strong>" in html
    assert "reported a dbt tests run (build) that passed" in html
    services.pipeline_run_record(
        deliverable=dashboard, actor=people["member"], report=parse_run(dbt_failing()), at=timezone.now()
    )
    html = client.get(url(dashboard)).content.decode()
    assert "test.jaffle_shop.unique_orders_order_id.fed79b3a6e" in html and "reopened" in html
    catalogue = client.get("/p/DATA/deliverables/").content.decode()
    assert "Last run failed" in catalogue and "since success" in catalogue
