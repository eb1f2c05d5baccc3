"""The bell, the list grouped by story, the settings page, the Watch button and @mention links."""

from __future__ import annotations

import pytest

from apps.notifications.models import Delivery, Kind, Notification, NotificationPreference, Watch
from apps.stories import services as story_services

pytestmark = pytest.mark.django_db


@pytest.fixture
def story(project, people):
    return story_services.story_create(project=project, actor=people["owner"], title="Ingest CRM")


def test_the_bell_counts_unread_and_answers_304_while_unchanged(story, people, browser_for):
    client = browser_for("stakeholder")
    page = client.get("/p/DATA/backlog/")
    assert 'id="notification-bell"' in page.content.decode() and 'data-unread="0"' in page.content.decode()
    first = client.get("/notifications/bell/")
    etag = first["ETag"]
    assert client.get("/notifications/bell/", headers={"If-None-Match": etag}).status_code == 304
    story_services.comment_add(story=story, author=people["member"], body="@stakeholder look")
    changed = client.get("/notifications/bell/", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and 'data-unread="1"' in changed.content.decode()
    assert changed["ETag"] != etag


def test_the_list_groups_by_story_and_marks_read(project, story, people, browser_for):
    other = story_services.story_create(project=project, actor=people["owner"], title="Churn dashboard")
    story_services.comment_add(story=story, author=people["member"], body="@stakeholder one")
    story_services.comment_add(story=other, author=people["member"], body="@stakeholder two")
    story_services.comment_add(story=story, author=people["member"], body="@stakeholder three")
    client = browser_for("stakeholder")
    html = client.get("/notifications/").content.decode()
    assert html.count('class="card notification-group"') == 2
    assert html.index("DATA-1 Ingest CRM") < html.index("DATA-2 Churn dashboard"), "the newest group first"

    note = Notification.objects.filter(user=people["stakeholder"]).first()
    opened = client.get(f"/notifications/{note.pk}/open/")
    assert opened.status_code == 302 and opened["Location"] == note.url
    note.refresh_from_db()
    assert note.read
    client.post("/notifications/read/", {"all": "1"})
    assert not Notification.objects.filter(user=people["stakeholder"], read_at__isnull=True).exists()


def test_the_list_pages_newest_first(story, people, browser_for, monkeypatch):
    from apps.notifications import views

    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    for n in range(5):
        story_services.comment_add(story=story, author=people["member"], body=f"@stakeholder note {n}")
    client = browser_for("stakeholder")
    first = client.get("/notifications/").content.decode()
    assert first.count('class="notification unread"') == 2 and "Page 1 of 3" in first and 'rel="next"' in first
    last = client.get("/notifications/?page=3").content.decode()
    assert last.count('class="notification unread"') == 1 and 'rel="prev"' in last and 'rel="next"' not in last
    assert client.get("/notifications/?page=99").content.decode().count('class="notification unread"') == 1
    unread = client.get("/notifications/?unread=1").content.decode()
    assert "?unread=1&amp;page=2" in unread


def test_one_cannot_open_anothers_notification(story, people, browser_for):
    story_services.comment_add(story=story, author=people["member"], body="@stakeholder one")
    note = Notification.objects.get(user=people["stakeholder"])
    assert browser_for("member").get(f"/notifications/{note.pk}/open/").status_code == 404


def test_the_settings_page_saves_each_kinds_choice(people, browser_for):
    client = browser_for("member")
    assert client.get("/notifications/settings/").status_code == 200
    form = {f"delivery-{kind}": Delivery.DAILY for kind in Kind.values} | {
        f"in_app-{kind}": "on" for kind in Kind.values
    }
    form |= {f"delivery-{Kind.SPRINT_CHANGED}": Delivery.OFF, f"in_app-{Kind.SPRINT_CHANGED}": ""}
    client.post("/notifications/settings/", form)
    sprint = NotificationPreference.objects.get(user=people["member"], kind=Kind.SPRINT_CHANGED)
    assert (sprint.delivery, sprint.in_app) == (Delivery.OFF, False)
    bad = client.post("/notifications/settings/", {**form, f"delivery-{Kind.ASSIGNED}": "weekly"}, follow=True)
    assert "Choose how to be e-mailed" in bad.content.decode()


def test_the_watch_button_on_the_page_and_the_panel(story, people, browser_for):
    client = browser_for("stakeholder")
    page = client.get("/p/DATA/stories/DATA-1/").content.decode()
    assert 'Watch <span class="watch-count" title="Watchers">1</span>' in page
    swapped = client.post("/p/DATA/stories/DATA-1/watch/", {"watch": "1"}, headers={"HX-Request": "true"})
    assert "Unwatch" in swapped.content.decode() and ">2</span>" in swapped.content.decode()
    assert Watch.objects.filter(story=story, user=people["stakeholder"]).exists()
    panel = client.get("/p/DATA/stories/DATA-1/?panel=1").content.decode()
    assert "Unwatch" in panel
    client.post("/p/DATA/stories/DATA-1/watch/", {"watch": "0"})
    assert not Watch.objects.filter(story=story, user=people["stakeholder"]).exists()


def test_an_outsider_cannot_watch(story, browser_for):
    assert browser_for("outsider").post("/p/DATA/stories/DATA-1/watch/", {"watch": "1"}).status_code == 404


def test_mentions_of_members_are_links_and_of_others_plain_text(story, people, browser_for):
    story_services.comment_add(story=story, author=people["member"], body="Thanks @owner, and @outsider `@member`")
    html = browser_for("member").get("/p/DATA/stories/DATA-1/").content.decode()
    assert '<a class="mention" href="/p/DATA/board/?assignee=owner" rel="noopener noreferrer">@owner</a>' in html
    assert "@outsider" in html and "assignee=outsider" not in html
    assert "<code>@member</code>" in html, "not inside code"
    assert 'data-members-url="/api/v1/projects/DATA/members/"' in html
