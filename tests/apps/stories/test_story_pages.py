"""A story's page and its side-panel fragment: edit every field, preview, comment, history, delete and restore."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.stories import services
from apps.stories.models import Comment, Story

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_user(client, people):
    def login(name: str):
        client.force_login(people[name])
        return client

    return login


@pytest.fixture
def story(project, people):
    return services.story_create(project=project, actor=people["owner"], title="Ingest CRM", description="Load **accounts**")


def url(name: str = "story-detail", key: str = "DATA-1") -> str:
    return reverse(name, kwargs={"key": "DATA", "story_key": key})


def edit(client, **fields):
    data = {"title": "Ingest CRM", "description": "", "acceptance_criteria": "", "kind": "story", "points": "", "version": 1, **fields}
    return client.post(url(), data)


def test_the_page_renders_markdown_sanitised_and_the_history(as_user, story, people):
    services.story_update(story=story, actor=people["member"], description="<script>alert(1)</script>**bold**", points=3)
    page = as_user("stakeholder").get(url()).content.decode()
    assert "<strong>bold</strong>" in page and "<script>alert" not in page
    assert "owner</strong> created it in Backlog" in page and "estimated it at 3 points" in page
    assert 'name="title"' not in page  # stakeholders read and comment, they do not edit


def test_a_member_edits_every_field(as_user, project, story, people):
    epic = services.epic_save(project=project, name="CRM")
    label = services.label_save(project=project, name="dbt")
    response = edit(as_user("member"), title="Ingest the CRM", description="# Plan", acceptance_criteria="- rows match",
                    kind="chore", points="2.5", epic=epic.pk, labels=[label.pk], assignee=people["member"].pk)
    assert response.status_code == 302, response.content.decode()[:2000]
    story.refresh_from_db()
    assert (story.title, story.kind, story.points, story.epic, story.assignee) == ("Ingest the CRM", "chore", 2.5, epic, people["member"])
    assert list(story.labels.all()) == [label] and story.acceptance_criteria == "- rows match" and story.version == 2


def test_bad_input_and_a_stale_version_change_nothing(as_user, project, story, people):
    client = as_user("member")
    other_epic = services.epic_save(project=project.other, name="Theirs")
    for fields in ({"title": ""}, {"points": "-1"}, {"kind": "epic"}, {"epic": other_epic.pk}, {"assignee": people["outsider"].pk}):
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
    saved = client.post(url(), {"title": "From the board", "kind": "story", "version": 1, "panel": "1"}, HTTP_HX_REQUEST="true")
    assert saved.status_code == 200 and "From the board" in saved.content.decode() and "<html" not in saved.content.decode()


def test_unknown_stories_and_outsiders_get_404(as_user, story):
    assert as_user("member").get(url(key="DATA-99")).status_code == 404
    assert as_user("outsider").get(url()).status_code == 404
