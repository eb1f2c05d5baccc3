"""The Requests pages: submit, the triage queue and its groups, accept/merge/decline (one or a whole group), my requests."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.intake import services
from apps.intake.models import Request
from apps.stories.models import Story
from tests.apps.intake.helpers import email_request

pytestmark = pytest.mark.django_db


def url(name: str = "project-requests", **kwargs) -> str:
    return reverse(name, kwargs={"key": "DATA", **kwargs})


def submit(project, people, who: str, title: str) -> Request:
    return services.request_submit(project=project, requester=people[who], title=title)


def test_a_stakeholder_submits_and_follows_it(as_user, project):
    client = as_user("stakeholder")
    assert 'name="channel"' not in client.get(url()).content.decode()  # a stakeholder asks here, on the web
    response = client.post(url(), {"title": "Churn by region", "detail": "For Q3", "channel": "email"})
    assert response.status_code == 302 and Request.objects.get().channel == "web"
    bad = client.post(url(), {"title": ""})
    assert bad.status_code == 400 and "errorlist" in bad.content.decode() and Request.objects.count() == 1
    assert "Churn by region" in client.get(url("project-my-requests")).content.decode()
    page = client.get(url()).content.decode()
    assert "Churn by region" in page and "Accept request" not in page  # stakeholders see, product owners triage


def test_the_owner_accepts_merges_and_declines(as_user, project, people):
    a, b, c = (
        submit(project, people, "stakeholder", t) for t in ("Churn dashboard", "Revenue export", "Rewrite in Rust")
    )
    client = as_user("owner")
    assert "Accept request #" in client.get(url()).content.decode()
    client.post(url("project-request-triage", request_id=a.pk, action="accept"), {"position": "top"})
    client.post(url("project-request-triage", request_id=b.pk, action="merge"), {"into": a.pk})
    refused = client.post(url("project-request-triage", request_id=c.pk, action="decline"), {"reason": ""}, follow=True)
    assert refused.redirect_chain[0][1] == 302 and "Reason: This field is required" in refused.content.decode()
    assert Request.objects.get(pk=c.pk).status == "open"
    client.post(url("project-request-triage", request_id=c.pk, action="decline"), {"reason": "Not a data product"})
    statuses = dict(Request.objects.values_list("pk", "status"))
    assert statuses == {a.pk: "accepted", b.pk: "merged", c.pk: "declined"}
    assert Story.objects.get().title == "Churn dashboard"
    mine = as_user("stakeholder").get(url("project-my-requests")).content.decode()
    assert "Not a data product" in mine and "Merged into the similar request" in mine
    assert "in the backlog: not planned into a sprint yet" in mine and "Planned as" not in mine
    assert (
        as_user("member").post(url("project-request-triage", request_id=c.pk, action="accept"), {}).status_code == 403
    )
    assert as_user("owner").post(url("project-request-triage", request_id=c.pk, action="nope"), {}).status_code == 404


def test_most_asked_for_and_accepting_a_whole_group(as_user, project, people):
    ids = [
        submit(project, people, who, t).pk
        for who, t in (
            ("stakeholder", "Churn dashboard for marketing"),
            ("member", "Marketing churn dashboards"),
            ("admin", "A churn dashboard for marketing"),
            ("member", "Export revenue to CSV"),
        )
    ]
    client = as_user("owner")
    page = client.get(url()).content.decode()
    assert "Most asked for" in page and "3 requests" in page and "from 3 people" in page
    group = ",".join(map(str, ids[:3]))
    response = client.post(
        url("project-request-group"),
        {"action": "accept", "requests": group, "representative": ids[0], "position": "bottom"},
    )
    assert response.status_code == 302
    assert Story.objects.count() == 1
    assert sorted(Request.objects.values_list("status", flat=True)) == ["accepted", "merged", "merged", "open"]
    assert set(Request.objects.filter(status="merged").values_list("merged_into", flat=True)) == {ids[0]}
    bad = client.post(
        url("project-request-group"), {"action": "merge", "requests": "abc", "representative": ids[3]}, follow=True
    )
    assert bad.redirect_chain[0][1] == 302 and "could not be read" in bad.content.decode()
    assert Request.objects.get(pk=ids[3]).status == "open"


def test_merging_a_group_keeps_the_representative_open(as_user, project, people):
    ids = [submit(project, people, "stakeholder", t).pk for t in ("Churn alert", "Churn alerts")]
    as_user("owner").post(
        url("project-request-group"), {"action": "merge", "requests": f"{ids[0]},{ids[1]}", "representative": ids[1]}
    )
    assert dict(Request.objects.values_list("pk", "status")) == {ids[0]: "merged", ids[1]: "open"}


def test_the_owner_sees_the_queue_first_and_merges_by_choosing_a_request(as_user, project, people):
    a = submit(project, people, "stakeholder", "Churn dashboard")
    b = submit(project, people, "stakeholder", "Churn dashboard by region")
    page = as_user("owner").get(url()).content.decode()
    assert page.index('id="queue"') < page.index('id="ask-heading"')  # the queue above the fold, the form folded
    assert '<details class="card ask-fold">' in page and 'name="channel"' in page  # asks from e-mail, chat...
    menu = page[page.index(f'id="merge-{b.pk}-into"') : page.index("</select>", page.index(f'id="merge-{b.pk}-into"'))]
    assert f'<option value="{a.pk}">#{a.pk} Churn dashboard</option>' in menu and f'value="{b.pk}"' not in menu
    as_user("owner").post(url("project-request-triage", request_id=b.pk, action="merge"), {"into": a.pk})
    assert Request.objects.get(pk=b.pk).merged_into_id == a.pk
    stakeholder = as_user("stakeholder").get(url()).content.decode()
    assert stakeholder.index('id="ask-heading"') < stakeholder.index('id="queue"')


def test_an_accepted_story_names_every_request_merged_into_it(as_user, project, people):
    a = submit(project, people, "stakeholder", "Churn dashboard")
    b = submit(project, people, "stakeholder", "Churn dashboard by region")
    client = as_user("owner")
    client.post(url("project-request-triage", request_id=b.pk, action="merge"), {"into": a.pk})
    client.post(url("project-request-triage", request_id=a.pk, action="accept"), {"position": "top"})
    story = Story.objects.get()
    page = client.get(reverse("story-detail", kwargs={"key": "DATA", "story_key": story.key})).content.decode()
    assert f"#{a.pk} “Churn dashboard”, #{b.pk} “Churn dashboard by region” (merged)" in page
    queue = client.get(url() + "?status=all").content.decode()
    assert f"merged into #{a.pk}, which became" in queue


def test_a_request_merges_into_an_accepted_one_that_is_its_story(as_user, project, people):
    a = submit(project, people, "stakeholder", "Churn dashboard")
    b = submit(project, people, "stakeholder", "Churn dashboard for sales")
    client = as_user("owner")
    client.post(url("project-request-triage", request_id=a.pk, action="accept"), {"position": "top"})
    key = Story.objects.get().key
    page = client.get(url()).content.decode()
    assert f'<option value="{a.pk}">{key} (story of #{a.pk}) Churn dashboard</option>' in page
    client.post(url("project-request-triage", request_id=b.pk, action="merge"), {"into": a.pk})
    assert Request.objects.get(pk=b.pk).merged_into_id == a.pk


def test_the_groups_show_the_asks_of_each_channel_and_the_queue_filters_by_channel(as_user, project, people):
    web = submit(project, people, "stakeholder", "Churn dashboard for marketing")
    meeting = services.request_submit(
        project=project, requester=people["owner"], title="Marketing churn dashboards", channel="meeting"
    )
    mailed = email_request(project, "A churn dashboard, marketing")
    client = as_user("owner")
    page = client.get(url()).content.decode()
    assert "3 asks:" in page and ">Email 1<" in page and ">Meeting 1<" in page and ">Web 1<" in page
    assert "client@elsewhere.org" in page

    by_mail = client.get(url() + "?channel=email").content.decode()
    assert f'id="request-{mailed.pk}"' in by_mail
    assert f'id="request-{web.pk}"' not in by_mail and f'id="request-{meeting.pk}"' not in by_mail
    assert 'name="channel" value="email"' in by_mail, "a triage from the filtered queue comes back to it"
    assert "3 asks:" in by_mail, "the groups span every channel whatever the filter"
    done = client.post(
        url("project-request-triage", request_id=mailed.pk, action="decline"),
        {"reason": "dup", "status": "open", "channel": "email"},
    )
    assert done["Location"] == url() + "?status=open&channel=email"

    bad = client.get(url() + "?channel=fax")
    assert bad.status_code == 400 and "channel must be one of" in bad.content.decode()
    fetched = client.get(url() + "?channel=fax", HTTP_ACCEPT="application/json")
    assert fetched.status_code == 400 and fetched.json()["errors"][0]["field"] == "channel"


def test_an_emailed_sender_follows_the_request_without_an_account(project, people, client):
    from apps.intake import mail

    request = email_request(project, "Export revenue")
    services.request_accept(request=request, actor=people["owner"])
    page = client.get(reverse("request-follow", kwargs={"token": mail.follow_token(request.pk)}))
    assert page.status_code == 200
    assert "Accepted as DATA-1" in page.content.decode() and "in the backlog" in page.content.decode()
    assert client.get(reverse("request-follow", kwargs={"token": "forged"})).status_code == 404
