"""A story's page and its side-panel fragment (the board's panel): edit every field, preview, comment, history,
delete and restore, block/unblock with a reason, assign and re-estimate."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.stories import services
from apps.stories.models import Comment, Story, StoryEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def story(project, people):
    return services.story_create(
        project=project, actor=people["owner"], title="Ingest CRM", description="Load **accounts**"
    )


def url(name: str = "story-detail", key: str = "DATA-1") -> str:
    return reverse(name, kwargs={"key": "DATA", "story_key": key})


def edit(client, **fields):
    data = {
        "title": "Ingest CRM",
        "description": "",
        "acceptance_criteria": "",
        "kind": "story",
        "points": "",
        "version": 1,
        **fields,
    }
    return client.post(url(), data)


def test_the_page_renders_markdown_sanitised_and_the_history(as_user, story, people):
    services.story_update(
        story=story, actor=people["member"], description="<script>alert(1)</script>**bold**", points=3
    )
    page = as_user("stakeholder").get(url()).content.decode()
    assert "<strong>bold</strong>" in page and "<script>alert" not in page
    assert "owner</strong> created it in Backlog" in page and "estimated it at 3 points" in page
    assert 'name="title"' not in page  # stakeholders read and comment, they do not edit


def test_a_member_edits_every_field(as_user, project, story, people):
    epic = services.epic_save(project=project, name="CRM")
    label = services.label_save(project=project, name="dbt")
    response = edit(
        as_user("member"),
        title="Ingest the CRM",
        description="# Plan",
        acceptance_criteria="- rows match",
        kind="chore",
        points="2.5",
        epic=epic.pk,
        labels=[label.pk],
        assignee=people["member"].pk,
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    story.refresh_from_db()
    assert (story.title, story.kind, story.points, story.epic, story.assignee) == (
        "Ingest the CRM",
        "chore",
        2.5,
        epic,
        people["member"],
    )
    assert list(story.labels.all()) == [label] and story.acceptance_criteria == "- rows match" and story.version == 2


def test_bad_input_and_a_stale_version_change_nothing(as_user, project, story, people):
    client = as_user("member")
    other_epic = services.epic_save(project=project.other, name="Theirs")
    for fields in (
        {"title": ""},
        {"points": "-1"},
        {"kind": "epic"},
        {"epic": other_epic.pk},
        {"assignee": people["outsider"].pk},
    ):
        response = edit(client, **fields)
        assert response.status_code == 400, fields
        assert "errorlist" in response.content.decode()
    services.story_update(story=story, actor=people["owner"], title="Changed meanwhile")
    stale = edit(client, title="Mine")
    assert stale.status_code == 400 and "Someone else changed this story" in stale.content.decode()
    story.refresh_from_db()
    assert story.title == "Changed meanwhile" and story.version == 2


def test_preview_renders_markdown(as_user, story):
    response = as_user("member").post(url("story-preview"), {"description": "*hi* <img src=x onerror=alert(1)>"})
    html = response.content.decode()
    assert "<em>hi</em>" in html and "onerror" not in html


def test_comments_from_stakeholders(as_user, story):
    client = as_user("stakeholder")
    assert client.post(url("story-comment"), {"body": "When?"}).status_code == 302
    assert Comment.objects.get().body == "When?"
    assert client.post(url("story-comment"), {"body": ""}).status_code == 400
    assert "When?" in client.get(url()).content.decode()


def test_delete_and_restore(as_user, story):
    client = as_user("member")
    assert client.post(url("story-delete")).status_code == 302
    assert Story.objects.get().is_deleted and "was deleted" in client.get(url()).content.decode()
    assert client.post(url("story-restore")).status_code == 302
    assert not Story.objects.get().is_deleted
    assert as_user("stakeholder").post(url("story-delete")).status_code == 403


def test_the_panel_is_a_self_contained_fragment(as_user, story):
    client = as_user("member")
    panel = client.get(url() + "?panel=1").content.decode()
    assert "<html" not in panel and 'class="story-panel"' in panel and "backlog.css" in panel
    assert 'hx-target="closest .story-panel"' in panel and 'name="panel" value="1"' in panel
    saved = client.post(
        url(), {"title": "From the board", "kind": "story", "version": 1, "panel": "1"}, HTTP_HX_REQUEST="true"
    )
    assert (
        saved.status_code == 200
        and "From the board" in saved.content.decode()
        and "<html" not in saved.content.decode()
    )


def test_unknown_stories_and_outsiders_get_404(as_user, story):
    assert as_user("member").get(url(key="DATA-99")).status_code == 404
    assert as_user("outsider").get(url()).status_code == 404


# --- The panel's quick changes (the board opens this panel) --------------------------------------------


def quick(action: str, key: str = "DATA-1") -> str:
    return reverse(f"story-{action}", kwargs={"key": "DATA", "story_key": key})


HTMX = {"HTTP_HX_REQUEST": "true"}


def test_the_panel_shows_details_comments_and_history(as_user, story, states, people):
    services.comment_add(story=story, author=people["member"], body="Source has **nulls**")
    services.story_change_state(story=story, state=states["In progress"], actor=people["member"])
    panel = as_user("stakeholder").get(url() + "?panel=1", **HTMX).content.decode()
    assert "<html" not in panel and "Ingest CRM" in panel and "<strong>nulls</strong>" in panel
    assert "member</strong> moved it from Backlog to In progress" in panel and "owner</strong> created it" in panel
    assert 'name="body"' in panel  # a stakeholder may comment
    assert "Blocked because" not in panel and "Assign to" not in panel  # not change
    member = as_user("member").get(url() + "?panel=1", **HTMX).content.decode()
    for control in (
        "Blocked because",
        "Assign to",
        "Estimate (points)",
        "Edit every field",
        'name="version" value="2"',
    ):
        assert control in member, control


def test_block_unblock_assign_and_estimate_from_the_panel(as_user, story, people):
    client = as_user("member")
    response = client.post(quick("block"), {"version": 1, "reason": "No access", "panel": "1"}, **HTMX)
    content = response.content.decode()
    assert response.status_code == 200 and response["HX-Trigger"] == "board-changed"
    assert 'role="status"' in content and "DATA-1 is blocked." in content and ">Unblock</button>" in content
    assert "flagged it blocked: No access" in content  # the panel's timeline
    story.refresh_from_db()
    assert story.blocked and story.blocked_reason == "No access" and story.version == 2
    assert client.post(quick("unblock"), {"version": 2, "panel": "1"}, **HTMX).status_code == 200
    assert client.post(quick("assign"), {"version": 3, "assignee": "owner", "panel": "1"}, **HTMX).status_code == 200
    assert client.post(quick("estimate"), {"version": 4, "points": "8", "panel": "1"}, **HTMX).status_code == 200
    story.refresh_from_db()
    assert not story.blocked and story.assignee == people["owner"] and story.points == 8 and story.version == 5
    kinds = list(StoryEvent.objects.filter(story=story).order_by("seq").values_list("kind", flat=True))
    assert kinds == ["created", "blocked", "unblocked", "assignee", "points"]
    client.post(quick("assign"), {"version": 5, "assignee": "", "panel": "1"}, **HTMX)
    client.post(quick("estimate"), {"version": 6, "points": "", "panel": "1"}, **HTMX)
    story.refresh_from_db()
    assert story.assignee is None and story.points is None and story.version == 7


@pytest.mark.parametrize(
    ("action", "body", "status", "message"),
    [
        ("block", {"version": 1, "reason": "  "}, 400, "Say why the story is blocked."),
        ("block", {"version": 9, "reason": "No access"}, 409, "changed by someone else"),
        ("block", {"reason": "No access"}, 400, "missing the story&#x27;s version"),
        ("unblock", {"version": 0}, 400, "Version:"),
        ("assign", {"version": 1, "assignee": "outsider"}, 400, "outsider is not a member of DATA."),
        ("estimate", {"version": 1, "points": "-1"}, 400, "Points:"),
        ("estimate", {"version": 1, "points": "abc"}, 400, "Points:"),
        ("estimate", {"points": "3"}, 400, "missing the story&#x27;s version"),
    ],
)
def test_panel_errors_are_shown_in_the_panel_and_change_nothing(as_user, story, action, body, status, message):
    client = as_user("member")
    response = client.post(quick(action), {**body, "panel": "1"}, **HTMX)
    content = response.content.decode()
    assert response.status_code == status and "<html" not in content and 'class="story-panel"' in content
    assert 'role="alert"' in content and message in content
    assert not response.has_header("HX-Trigger")
    assert StoryEvent.objects.filter(story=story).count() == 1 and Story.objects.get().version == 1
    page = client.post(quick(action), body)  # without JavaScript: the page, with the reason
    assert page.status_code == status and "<html" in page.content.decode() and message in page.content.decode()


def test_comment_errors_and_comments_in_the_panel(as_user, story):
    client = as_user("stakeholder")
    refused = client.post(url("story-comment"), {"body": "", "panel": "1"}, **HTMX)
    assert (
        refused.status_code == 400
        and 'class="story-panel"' in refused.content.decode()
        and "errorlist" in refused.content.decode()
    )
    added = client.post(url("story-comment"), {"body": "When?", "panel": "1"}, **HTMX)
    assert (
        added.status_code == 200
        and "When?" in added.content.decode()
        and "Your comment is added." in added.content.decode()
    )
    assert not added.has_header("HX-Trigger")  # a comment does not change the board
    assert Comment.objects.get().body == "When?"


def test_a_comment_on_the_page_answers_its_comments_section_in_place(as_user, story):
    """The page's form posts with htmx: the answer is the comments section alone (no page, no redirect), with the
    new comment and a notice, or with the form's error and nothing saved."""
    client = as_user("stakeholder")
    services.comment_add(story=story, author=story.project.memberships.get(role="member").user, body="@owner earlier")
    refused = client.post(url("story-comment"), {"body": "  "}, **HTMX)
    section = refused.content.decode()
    assert refused.status_code == 400
    assert 'class="story-comments"' in section and "errorlist" in section and "<html" not in section
    assert "Your comment is added." not in section and Comment.objects.count() == 1
    added = client.post(url("story-comment"), {"body": "When? @owner"}, **HTMX)
    section = added.content.decode()
    assert added.status_code == 200 and "<html" not in section and "story-panel" not in section
    assert "Your comment is added." in section and "When?" in section and "earlier" in section
    assert 'class="mention"' in section  # the project's members are mentioned as on the page
    assert 'name="body"' in section and "When?</textarea>" not in section  # a new, empty form
    assert list(Comment.objects.order_by("pk").values_list("body", flat=True)) == ["@owner earlier", "When? @owner"]


def test_block_and_unblock_on_the_page_without_javascript(as_user, story):
    client = as_user("member")
    assert "Blocked because" in client.get(url()).content.decode()
    response = client.post(quick("block"), {"version": 1, "reason": "Waiting for the vendor"}, follow=True)
    assert response.redirect_chain[-1][0] == url() and "DATA-1 is blocked." in response.content.decode()
    assert Story.objects.get().blocked
    client.post(quick("unblock"), {"version": 2})
    assert not Story.objects.get().blocked


def test_quick_change_permissions(as_user, story):
    stakeholder = as_user("stakeholder")
    for action, body in (
        ("block", {"version": 1, "reason": "x"}),
        ("unblock", {"version": 1}),
        ("assign", {"version": 1}),
        ("estimate", {"version": 1, "points": "1"}),
    ):
        assert stakeholder.post(quick(action), {**body, "panel": "1"}, **HTMX).status_code == 403
    assert as_user("member").post(quick("block", "DATA-99"), {"version": 1, "reason": "x"}).status_code == 404
    assert as_user("outsider").post(quick("block"), {"version": 1, "reason": "x"}).status_code == 404
    assert as_user("member").get(quick("block")).status_code == 405
    assert Story.objects.get().version == 1


def test_delete_and_restore_in_the_panel_refresh_the_board_and_a_stale_delete_is_refused(as_user, story, people):
    client = as_user("member")
    services.story_update(story=Story.objects.get(), actor=people["owner"], title="Changed meanwhile")
    stale = client.post(url("story-delete"), {"version": 1, "panel": "1"}, **HTMX)
    assert (
        stale.status_code == 409
        and "changed by someone else" in stale.content.decode()
        and not Story.objects.get().is_deleted
    )
    deleted = client.post(url("story-delete"), {"version": 2, "panel": "1"}, **HTMX)
    assert (
        deleted.status_code == 200
        and deleted["HX-Trigger"] == "board-changed"
        and "DATA-1 is deleted." in deleted.content.decode()
    )
    assert Story.objects.get().is_deleted
    again = client.post(url("story-delete"), {"panel": "1"}, **HTMX)
    assert again.status_code == 409 and "already deleted" in again.content.decode()
    restored = client.post(url("story-restore"), {"panel": "1"}, **HTMX)
    assert (
        restored.status_code == 200 and restored["HX-Trigger"] == "board-changed" and not Story.objects.get().is_deleted
    )


def test_the_history_names_epics_and_deliverables_as_they_were_called_then(as_user, project, story, people):
    from apps.deliverables import services as deliverable_services
    from apps.deliverables.models import DeliverableKind

    epic = services.epic_save(project=project, name="Orders")
    deliverable = deliverable_services.deliverable_create(
        project=project, actor=people["owner"], name="Orders dashboard", kind=DeliverableKind.DASHBOARD
    )
    services.story_update(story=story, actor=people["member"], epic=epic, deliverable=deliverable)
    services.epic_save(project=project, epic=epic, name="Orders v2")
    page = as_user("member").get(url()).content.decode()
    assert "changed the epic to “Orders”" in page and "changed the deliverable to “Orders dashboard”" in page
    assert f"“{epic.pk}”" not in page and f"“{deliverable.pk}”" not in page
    assert 'href="/p/DATA/deliverables/' in page  # the story's deliverable, linked in its facts


def test_an_imported_story_shows_its_jira_key(as_user, story):
    Story.objects.filter(pk=story.pk).update(external_key="JRA-7")
    assert "Jira JRA-7" in as_user("stakeholder").get(url()).content.decode()
    assert "Jira JRA-7" in as_user("stakeholder").get(url() + "?panel=1", **HTMX).content.decode()


def test_the_full_form_links_a_deliverable_and_offers_only_members_by_full_name(as_user, project, story, people):
    from apps.deliverables import services as deliverable_services
    from apps.deliverables.models import DeliverableKind

    people["member"].first_name, people["member"].last_name = "Mia", "Member"
    people["member"].save()
    deliverable = deliverable_services.deliverable_create(
        project=project, actor=people["owner"], name="Churn dashboard", kind=DeliverableKind.DASHBOARD
    )
    client = as_user("member")
    page = client.get(url()).content.decode()
    form = page[page.index('name="assignee"') : page.index("</select>", page.index('name="assignee"'))]
    assert ">Mia Member</option>" in form and ">stakeholder</option>" not in form
    assert 'name="deliverable"' in page and ">Churn dashboard</option>" in page
    assert edit(client, deliverable=deliverable.pk, points="5").status_code == 302
    story.refresh_from_db()
    assert story.deliverable == deliverable
    assert StoryEvent.objects.filter(story=story, field="deliverable", to_value=deliverable.pk).exists()
    page = client.get(url()).content.decode()
    assert 'name="points" value="5"' in page and 'value="5.0"' not in page  # one display of points


def test_the_panel_assigns_only_members_and_names_them_in_full(as_user, story, people):
    people["member"].first_name, people["member"].last_name = "Mia", "Member"
    people["member"].save()
    member = as_user("member")
    panel = member.get(url() + "?panel=1", **HTMX).content.decode()
    menu = panel[panel.index('name="assignee"') : panel.index("</select>", panel.index('name="assignee"'))]
    assert ">Mia Member</option>" in menu and "stakeholder" not in menu
    refused = member.post(
        url("story-assign"), {"assignee": "stakeholder", "version": 1, "panel": "1"}, **HTMX
    ).content.decode()
    assert "stakeholder of DATA" in refused
    assert Story.objects.get(pk=story.pk).assignee is None


def test_the_form_offers_this_projects_options_marked_from_one_read(as_user, project, story, people):
    epic = services.epic_save(project=project, name="Billing")
    services.epic_save(project=project, name="Activation")
    services.epic_save(project=project.other, name="Elsewhere")
    dbt, looker = (services.label_save(project=project, name=name) for name in ("dbt", "looker"))
    services.story_update(story=story, actor=people["owner"], epic=epic, labels=[looker], assignee=people["member"])
    page = as_user("member").get(url()).content.decode()
    epics = page[page.index('<select name="epic"') : page.index("</select>", page.index('<select name="epic"'))]
    assert epics.index(">No epic<") < epics.index(">Activation<") < epics.index(">Billing<")
    assert f'<option value="{epic.pk}" selected>Billing</option>' in epics and "Elsewhere" not in page
    assert f'<option value="{people["member"].pk}" selected>member</option>' in page
    assert f'value="{looker.pk}" id="story-labels_1" checked>' in page
    assert f'value="{dbt.pk}" id="story-labels_0">' in page
    assert f'data-css-vars="--label: {looker.color}; ' in page and ">looker</span>" in page  # the facts' chips
    assert ">dbt</span>" not in page
    assert '<select name="deliverable" aria-describedby="story-deliverable_helptext" id="story-deliverable">' in page
    services.comment_add(story=story, author=people["owner"], body="@member and @stakeholder, and @nobody")
    page = as_user("member").get(url()).content.decode()
    assert 'class="mention"' in page and ">@stakeholder</a>" in page and ">@nobody</a>" not in page


def test_a_refused_choice_is_named_on_its_select_and_nothing_changes(as_user, project, story, people):
    theirs = services.label_save(project=project.other, name="theirs")
    client = as_user("member")
    with CaptureQueriesContext(connection) as queries:
        response = edit(client, epic="999999", labels=[theirs.pk], kind="story")
    page = response.content.decode()
    assert response.status_code == 400
    assert '<select name="epic" aria-invalid="true" aria-describedby="story-epic_error" id="story-epic">' in page
    assert 'id="story-epic_error"><li>Select a valid choice.' in page
    assert 'aria-invalid="true" id="story-labels_0"' not in page  # the other project's label is not offered
    assert 'id="story-labels_error"><li>Select a valid choice.' in page
    story.refresh_from_db()
    assert story.version == 1 and story.epic_id is None
    names = [q["sql"] for q in queries.captured_queries if "UNION ALL SELECT 'label'" in q["sql"]]
    assert len(names) == 1  # the form shows its options from the page's one read of names


def test_the_page_reads_a_fixed_number_of_statements(as_user, project, story, people, django_assert_max_num_queries):
    client = as_user("member")
    client.get(url())
    for n in range(3):
        services.epic_save(project=project, name=f"Epic {n}")
        services.label_save(project=project, name=f"label-{n}")
        services.comment_add(story=story, author=people["owner"], body=f"note {n}")
    # session and user, membership; the story, its names, events, links, comments, watchers, requests, code; the bell
    with django_assert_max_num_queries(11):
        assert client.get(url()).status_code == 200


def test_a_comment_reads_the_story_once_and_redirects(as_user, story, people, django_assert_max_num_queries):
    client = as_user("member")
    client.post(url("story-comment"), {"body": "first"})
    with django_assert_max_num_queries(16):  # a mention: the member named, told and made a watcher
        response = client.post(url("story-comment"), {"body": "@owner second"})
    assert response.status_code == 302 and response["Location"] == url()
    assert list(Comment.objects.filter(story=story).values_list("body", flat=True)) == ["first", "@owner second"]
    refused = client.post(url("story-comment"), {"body": "   "})
    assert refused.status_code == 400 and 'id="comment-body-DATA-1"' in refused.content.decode()


def test_the_panels_assign_menu_marks_the_assignee_by_username(as_user, story, people):
    people["member"].first_name, people["member"].last_name = "Mia", "Member"
    people["member"].save()
    client = as_user("member")
    assigned = client.post(url("story-assign"), {"assignee": "member", "version": 1, "panel": "1"}, **HTMX)
    assert assigned.status_code == 200 and Story.objects.get(pk=story.pk).assignee == people["member"]
    panel = assigned.content.decode()
    menu = panel[panel.index('id="quick-assignee-DATA-1"') : panel.index("</select>", panel.index("quick-assignee"))]
    assert '<option value="member" selected>Mia Member</option>' in menu
    assert menu.index(">admin<") < menu.index(">owner<") < menu.index(">Mia Member<")  # by first name, then username
