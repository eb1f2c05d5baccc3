"""Search on the embedded SQLite (`make run`'s default): the migrations run, and the icontains fallback finds,
ranks, filters, scopes and excerpts. In a subprocess with its own SQLite file (the suite runs on PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

from tests.deploy.environment import on_sqlite

SCRIPT = r"""
import json
from django.test import Client
from django.contrib.auth import get_user_model
from apps.deliverables import services as deliverable_services
from apps.intake import services as intake_services
from apps.projects import services as project_services
from apps.stories import services
from apps.web import selectors

User = get_user_model()
owner, outsider = User.objects.create_user("owner"), User.objects.create_user("outsider")
data = project_services.project_create(creator=owner, key="DATA", name="Data")
other = project_services.project_create(creator=outsider, key="OTHER", name="Other")
done = next(state for state in data.states.all() if state.category == "done")
services.story_create(project=data, actor=owner, title="Churn model", description="The revenue dashboard feeds it")
services.story_create(project=data, actor=owner, title="Revenue dashboard <b>v1</b>")
quiet = services.story_create(project=data, actor=owner, title="Quarterly review")
services.comment_add(story=quiet, author=owner, body="the REVENUE dashboard again")
services.story_create(project=data, actor=owner, title="Old revenue dashboard", state=done)
services.story_create(project=other, actor=outsider, title="Revenue dashboard elsewhere")
services.epic_save(project=data, name="Revenue", description="every dashboard")
deliverable_services.deliverable_create(project=data, actor=owner, name="Revenue dashboard", kind="dashboard")
intake_services.request_submit(project=data, requester=owner, title="Dashboard of revenue by region")

def found(user, text, **options):
    ids = selectors.searched_projects(user, options.pop("project", None))
    return [[hit.type, hit.key or hit.title, hit.highlight] for hit in selectors.search_all(project_ids=ids, text=text, **options).hits]

client = Client(HTTP_HOST="localhost")
client.force_login(owner)
api = client.get("/api/v1/search/", {"q": "revenue dashboard", "page_size": 3}).json()
jump = client.get("/search/", {"q": "data-3"})
page = client.get("/search/", {"q": "revenue dashboard"}).content.decode()
print(json.dumps({
    "all": found(owner, "revenue dashboard"),
    "closed": found(owner, "revenue dashboard", state="closed", kinds=["story"]),
    "outsider": found(outsider, "revenue dashboard"),
    "key": found(owner, "DATA-3", kinds=["story"]),
    "nothing": found(owner, "-"),
    "api": {"count": api["count"], "first": api["results"][0]["key"], "next": bool(api["next"])},
    "jump": [jump.status_code, jump.get("Location")],
    "page_escapes": "&lt;b&gt;v1&lt;/b&gt;" in page and "<b>v1</b>" not in page,
}))
"""


def test_the_fallback_finds_ranks_filters_and_scopes_on_sqlite(tmp_path: Path) -> None:
    result = on_sqlite(tmp_path, SCRIPT)
    everything = result["all"]
    # every word in the title ranks first (newest first among equals); then the description and the comment
    assert [key for _, key, _ in everything[:3]] == ["DATA-4", "DATA-2", "Revenue dashboard"]
    assert {kind for kind, _, _ in everything} == {"story", "epic", "deliverable", "request"}
    assert {"DATA-1", "DATA-3"} <= {key for _, key, _ in everything}
    assert "OTHER-1" not in {key for _, key, _ in everything}
    comment = next(highlight for _, key, highlight in everything if key == "DATA-3")
    assert "<mark>REVENUE</mark> <mark>dashboard</mark>" in comment
    title = next(highlight for _, key, highlight in everything if key == "DATA-2")
    assert "&lt;b&gt;v1&lt;/b&gt;" in title and "<b>" not in title
    assert [key for _, key, _ in result["closed"]] == ["DATA-4"]
    assert [key for _, key, _ in result["outsider"]] == ["OTHER-1"]
    assert result["key"][0][1] == "DATA-3"
    assert result["nothing"] == []
    assert result["api"] == {"count": 7, "first": "DATA-4", "next": True}
    assert result["jump"] == [302, "/p/DATA/stories/DATA-3/"]
    assert result["page_escapes"] is True
