"""sprintboard.jira: Jira search pages read, analysed and planned, in pure Python."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from sprintboard import csvimport, jira
from tests.sprintboard import jira_builders as jb


def export_of(issues, **kw):
    return jira.read_export(jb.server_pages(issues, **kw))


def planned(issues, mapping=None):
    export = export_of(issues)
    analysis = jira.analyse(export)
    return jira.plan(export, jira.mapping_from_json(mapping, analysis, usernames={"bob": "bob", "ann": "ann"}))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-01T09:00:00.000+0200", datetime(2024, 3, 1, 7, tzinfo=UTC)),
        ("2024-03-01T09:00:00.000+02:00", datetime(2024, 3, 1, 7, tzinfo=UTC)),
        ("2024-03-01T09:00:00.000Z", datetime(2024, 3, 1, 9, tzinfo=UTC)),
        ("2024-03-01T09:00:00Z", datetime(2024, 3, 1, 9, tzinfo=UTC)),
        ("2024-03-01T00:30:00.000-0530", datetime(2024, 3, 1, 6, tzinfo=UTC)),
    ],
)
def test_timestamps_in_any_zone_become_utc(text, expected):
    assert jira.parse_time(text) == expected


@pytest.mark.parametrize(
    "text",
    ["2024-03-01T09:00:00", "yesterday", "", None, 1709283600, "0001-01-01T00:00:00+0200", "9999-12-31T23:00:00Z"],
)
def test_a_timestamp_without_a_zone_or_not_a_timestamp_is_refused(text):
    with pytest.raises(ValueError):
        jira.parse_time(text)


def test_adf_becomes_markdown():
    doc = {
        "type": "doc",
        "version": 1,
        "content": [
            {"type": "heading", "attrs": {"level": 3}, "content": [{"type": "text", "text": "Why"}]},
            {"type": "paragraph", "content": [
                {"type": "text", "text": "Ask "},
                {"type": "mention", "attrs": {"id": "5b10", "text": "@Ann"}},
                {"type": "text", "text": " about "},
                {"type": "text", "text": "dbt", "marks": [{"type": "code"}]},
                {"type": "hardBreak"},
                {"type": "text", "text": "today", "marks": [{"type": "em"}, {"type": "strong"}]},
            ]},
            {"type": "orderedList", "content": [
                {"type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "load"}]}]},
                {"type": "listItem", "content": [
                    {"type": "paragraph", "content": [{"type": "text", "text": "check"}]},
                    {"type": "bulletList", "content": [{"type": "listItem", "content": [
                        {"type": "paragraph", "content": [{"type": "text", "text": "row counts"}]}]}]},
                ]},
            ]},
            {"type": "codeBlock", "attrs": {"language": "sql"}, "content": [{"type": "text", "text": "select 1"}]},
            {"type": "blockquote", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "quoted"}]}]},
            {"type": "rule"},
            {"type": "unknownNode", "content": [{"type": "text", "text": "kept"}]},
        ],
    }  # fmt: skip
    assert jira.adf_to_markdown(doc) == (
        "### Why\n\nAsk @Ann about `dbt`  \n***today***\n\n1. load\n2. check\n  - row counts\n\n"
        "```sql\nselect 1\n```\n\n> quoted\n\n---\n\nkept"
    )


def test_plain_descriptions_and_none_pass_through():
    assert jira.adf_to_markdown("h2. Wiki *text*") == "h2. Wiki *text*"
    assert jira.adf_to_markdown(None) == ""


def test_server_pages_in_any_order_are_read_once_each():
    issues = [jb.issue(f"JRA-{n}") for n in range(1, 8)]
    pages = jb.server_pages(issues, per_page=3)
    export = jira.read_export(list(reversed(pages)) + pages[:1])  # a page given twice is harmless
    assert sorted(i.key for i in export.issues) == sorted(f"JRA-{n}" for n in range(1, 8))
    assert export.style == "server"


def test_a_missing_server_page_is_named():
    pages = jb.server_pages([jb.issue(f"JRA-{n}") for n in range(1, 8)], per_page=3)
    with pytest.raises(jira.ImportFormatError) as refused:
        jira.read_export([pages[0], pages[2]])
    assert "issues 4-6 are in no file" in str(refused.value)


def test_the_last_server_page_missing_is_named():
    pages = jb.server_pages([jb.issue(f"JRA-{n}") for n in range(1, 8)], per_page=3)
    with pytest.raises(jira.ImportFormatError) as refused:
        jira.read_export(pages[:2])
    assert "issues 7-7 of 7 are in no file" in str(refused.value)


def test_pages_that_disagree_on_total_are_refused():
    one = {"startAt": 0, "maxResults": 1, "total": 2, "issues": [jb.issue("JRA-1")]}
    two = {"startAt": 1, "maxResults": 1, "total": 3, "issues": [jb.issue("JRA-2")]}
    with pytest.raises(jira.ImportFormatError, match="disagree on total"):
        jira.read_export([("a.json", json.dumps(one).encode()), ("b.json", json.dumps(two).encode())])


def test_cloud_pages_with_next_page_tokens():
    issues = [jb.issue(f"JRA-{n}", assignee=jb.user("bob", cloud=True)) for n in range(1, 6)]
    export = jira.read_export(jb.cloud_pages(issues, per_page=2))
    assert export.style == "cloud" and len(export.issues) == 5
    assert set(export.users) == {"5b10-bob", "ann"}


def test_cloud_pages_without_the_last_one_are_refused():
    pages = jb.cloud_pages([jb.issue(f"JRA-{n}") for n in range(1, 6)], per_page=2)
    with pytest.raises(jira.ImportFormatError, match="no page is the last"):
        jira.read_export(pages[:2])


def test_cloud_and_server_pages_do_not_mix():
    with pytest.raises(jira.ImportFormatError, match="mixes Cloud pages"):
        jira.read_export(jb.server_pages([jb.issue("JRA-1")]) + jb.cloud_pages([jb.issue("JRA-2")]))


def test_a_zip_of_pages_is_read():
    pages = jb.server_pages([jb.issue(f"JRA-{n}") for n in range(1, 5)], per_page=2)
    export = jira.read_export([jb.zipped(pages + [("notes.txt", b"ignored")])])
    assert len(export.issues) == 4


def test_every_problem_of_a_half_valid_file_is_listed_with_file_key_and_field():
    issues = [jb.issue(f"JRA-{n}") for n in range(1, 5)]
    issues[1]["fields"]["summary"] = None
    issues[3]["fields"]["created"] = "2024-02-30T09:00:00Z"
    with pytest.raises(jira.ImportFormatError) as refused:
        export_of(issues, per_page=2)
    assert [str(p) for p in refused.value.problems] == [
        "page-1.json, issue JRA-2, fields.summary: a summary (text) is required",
        "page-2.json, issue JRA-4, fields.created: '2024-02-30T09:00:00Z' is not a timestamp such as "
        "2024-03-01T09:00:00.000+0200",
    ]


def test_server_sprint_strings_are_read():
    legacy = (
        "com.atlassian.greenhopper.service.sprint.Sprint@6c2f2f5b[id=7,rapidViewId=1,state=CLOSED,name=Sprint 7,"
        "goal=Ship it, now,startDate=2024-03-04T09:00:00.000+01:00,endDate=2024-03-15T17:00:00.000+01:00,"
        "completeDate=2024-03-15T18:00:00.000+01:00,sequence=7]"
    )
    raw = jb.issue("JRA-1")
    raw["fields"][jb.SPRINT] = [legacy]
    export = export_of([raw])
    sprint = export.sprints["7"]
    assert (sprint.name, sprint.state, sprint.goal) == ("Sprint 7", "closed", "Ship it, now")
    assert sprint.completed == datetime(2024, 3, 15, 17, tzinfo=UTC)
    assert export.issues[0].sprints == ("7",)


def test_the_analysis_counts_statuses_types_fields_and_users():
    issues = [
        jb.issue("JRA-1", status_=jb.status("3"), points=3, assignee="bob"),
        jb.issue("JRA-2", status_=jb.status("10002"), type_="Bug", points=1,
                 histories=[jb.history("2024-03-04T09:00:00Z", "bob", jb.moved("1", "10002"))]),
    ]  # fmt: skip
    analysis = jira.analyse(export_of(issues))
    found = {s.key: (s.name, s.category, s.issues, s.changes) for s in analysis.statuses}
    assert found == {
        "1": ("To Do", "todo", 0, 0),
        "3": ("In Progress", "active", 1, 0),
        "10002": ("Won't Do", "cancelled", 1, 1),
    }
    assert [(t.name, t.count) for t in analysis.issue_types] == [("Bug", 1), ("Story", 1)]
    assert [(f.key, f.name, f.count) for f in analysis.points_fields] == [(jb.POINTS, "Story Points", 2)]
    assert {u.key: u.count for u in analysis.users} == {"ann": 2, "bob": 2}


def test_users_match_members_by_user_name_or_email():
    issues = [jb.issue("JRA-1", assignee=jb.user("carol", cloud=True), reporter="dave")]
    analysis = jira.analyse(export_of(issues))
    mapping = jira.default_mapping(analysis, usernames={"carol@example.com": "caz"})
    assert mapping.users == {"5b10-carol": "caz", "dave": None}


def test_the_first_state_is_the_from_of_the_first_status_change_else_the_current():
    issues = [
        jb.issue("JRA-1", status_=jb.status("10001"), histories=[
            jb.history("2024-03-05T09:00:00Z", "bob", jb.moved("4", "3")),
            jb.history("2024-03-06T09:00:00Z", "bob", jb.moved("3", "10001")),
        ]),
        jb.issue("JRA-2", status_=jb.status("3")),
    ]  # fmt: skip
    stories = {s.key: s for s in planned(issues).stories}
    assert (stories["JRA-1"].initial.state, stories["JRA-2"].initial.state) == ("4", "3")


def test_steps_of_all_issues_are_merged_oldest_first_with_created_first_at_a_tie():
    issues = [
        jb.issue("JRA-1", created="2024-03-01T10:00:00.000+0100", histories=[
            jb.history("2024-03-03T09:00:00Z", "bob", jb.moved("1", "3"))]),
        jb.issue("JRA-2", created="2024-03-01T09:30:00Z", histories=[
            jb.history("2024-03-02T11:00:00.000+0200", "bob", jb.moved("1", "3"))]),
        jb.issue("JRA-3", created="2024-03-02T09:00:00Z"),
    ]  # fmt: skip
    steps = [(s.key, s.kind, s.at.isoformat()) for s in planned(issues).steps]
    assert steps == [
        ("JRA-1", "created", "2024-03-01T09:00:00+00:00"),
        ("JRA-2", "created", "2024-03-01T09:30:00+00:00"),
        ("JRA-3", "created", "2024-03-02T09:00:00+00:00"),
        ("JRA-2", "state", "2024-03-02T09:00:00+00:00"),
        ("JRA-1", "state", "2024-03-03T09:00:00+00:00"),
    ]


def test_cloud_histories_newest_first_are_put_in_time_order():
    raw = jb.issue("JRA-1", histories=[
        jb.history("2024-03-06T09:00:00Z", "bob", jb.moved("3", "10001")),
        jb.history("2024-03-05T09:00:00Z", "bob", jb.moved("1", "3")),
    ])  # fmt: skip
    plan = planned([raw])
    assert [s.value for s in plan.steps if s.kind == "state"] == ["3", "10001"]
    assert plan.stories[0].initial.state == "1"


def test_several_sprints_points_and_flags_become_steps():
    s1 = jb.sprint(1, "Sprint 1", "closed", "2024-03-04T09:00:00Z", "2024-03-15T17:00:00Z", "2024-03-15T17:00:00Z")
    s2 = jb.sprint(2, "Sprint 2", "active", "2024-03-18T09:00:00Z", "2024-03-29T17:00:00Z")
    raw = jb.issue("JRA-1", points=8, sprints=[s1, s2], flagged=True, histories=[
        jb.history("2024-03-02T09:00:00Z", "ann", jb.item("Sprint", "", "", "1", "Sprint 1"),
                   jb.item("Story Points", None, "", None, "5")),
        jb.history("2024-03-06T09:00:00Z", "ann", jb.item("Story Points", None, "5", None, "8")),
        jb.history("2024-03-07T09:00:00Z", "bob", jb.item("Flagged", None, None, None, "Impediment")),
        jb.history("2024-03-15T17:00:00Z", "ann", jb.item("Sprint", "1", "Sprint 1", "1, 2", "Sprint 1, Sprint 2")),
    ])  # fmt: skip
    plan = planned([raw])
    story = plan.stories[0]
    assert (story.initial.sprint, story.initial.points, story.initial.flag) == (None, None, None)
    assert (story.current.sprint, story.current.points, story.current.flag) == ("2", 8.0, "Impediment")
    assert [(s.kind, s.value) for s in plan.steps] == [
        ("created", None), ("sprint", "1"), ("points", 5.0), ("points", 8.0), ("blocked", "Impediment"), ("sprint", "2"),
    ]  # fmt: skip


def test_missing_points_stay_unestimated():
    plan = planned([jb.issue("JRA-1", points=None)])
    assert plan.stories[0].initial.points is None and plan.stories[0].current.points is None


def test_epics_become_epics_and_sub_tasks_are_skipped_or_kept():
    issues = [
        jb.issue("JRA-1", type_="Epic", summary="Ingestion"),
        jb.issue("JRA-2", epic="JRA-1"),
        jb.issue("JRA-3", type_="Sub-task"),
    ]
    plan = planned(issues)
    assert [e.name for e in plan.epics] == ["Ingestion"]
    assert [(s.key, s.epic) for s in plan.stories] == [("JRA-2", "JRA-1")]
    assert plan.skipped == (("JRA-3", "issue type Sub-task is skipped by the mapping"),)
    kept = planned(issues, {"types": {"Sub-task": "chore"}})
    assert [(s.key, s.kind) for s in kept.stories] == [("JRA-2", "story"), ("JRA-3", "chore")]


def test_a_cloud_parent_epic_is_the_epic():
    raw = jb.issue("JRA-2")
    raw["fields"]["parent"] = {"key": "JRA-1", "fields": {"issuetype": {"name": "Epic"}}}
    assert planned([jb.issue("JRA-1", type_="Epic"), raw]).stories[0].epic == "JRA-1"


@pytest.mark.parametrize(
    ("mapping", "field"),
    [
        ({"statuses": {"9": {"category": "done"}}}, "statuses.9"),
        ({"statuses": {"1": {"category": "someday"}}}, "statuses.1.category"),
        ({"statuses": {"1": {"state": ""}}}, "statuses.1.state"),
        ({"statuses": {"1": "done"}}, "statuses.1"),
        ({"types": {"Story": "feature"}}, "types.Story"),
        ({"types": {"Task": "chore"}}, "types.Task"),
        ({"points_field": "customfield_1"}, "points_field"),
        ({"users": {"nobody": "x"}}, "users.nobody"),
        ({"users": {"ann": 3}}, "users.ann"),
        ({"statuses": []}, "statuses"),
    ],
)
def test_a_bad_mapping_names_its_entry(mapping, field):
    analysis = jira.analyse(export_of([jb.issue("JRA-1", points=1)]))
    with pytest.raises(jira.ImportFormatError) as refused:
        jira.mapping_from_json(mapping, analysis)
    assert refused.value.problems[0].field == field


def test_the_analysis_survives_json():
    from dataclasses import asdict

    analysis = jira.analyse(export_of([jb.issue("JRA-1", points=2, assignee="bob")]))
    assert jira.analysis_from_json(json.loads(json.dumps(asdict(analysis)))) == analysis


def test_a_status_change_csv_is_read_as_issues_with_history():
    from zoneinfo import ZoneInfo

    text = (
        "Key;Summary;Type;Created;Points;From;To;Changed at\n"
        "DATA-1;Load;Story;01/03/2024 09:00;3;To Do;In Progress;02/03/2024 09:00\n"
        "DATA-1;Load;Story;01/03/2024 09:00;5;In Progress;Done;04/03/2024 17:00\n"
        "DATA-2;Fix;Bug;02/03/2024 09:00;;;To Do;02/03/2024 09:00\n"
    )
    export = csvimport.read_csv(
        [("c.csv", text.encode())], shape="changes", columns=None, date_format="%d/%m/%Y %H:%M", tz=ZoneInfo("UTC")
    )
    one, two = export.issues
    assert (one.status, one.numbers, one.issue_type) == ("Done", {"points": 5.0}, "Story")
    mapping = jira.default_mapping(jira.analyse(export))
    assert mapping.points_field == "points" and mapping.statuses["Done"] == ("Done", "done")
    plan = jira.plan(export, mapping)
    assert [(s.key, s.kind, s.value) for s in plan.steps] == [
        ("DATA-1", "created", None), ("DATA-2", "created", None), ("DATA-1", "state", "In Progress"),
        ("DATA-2", "state", "To Do"), ("DATA-1", "state", "Done"), ("DATA-1", "points", 5.0),
    ]  # fmt: skip
    assert plan.stories[0].initial.points == 3.0


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("Key,Summary,To,Changed at\norders,Load,Done,2024-03-01T09:00\n", "row 2, column Key"),
        ("Key,Summary,To,Changed at\nDATA-1,Load,Done,01/03/2024\n", "row 2, column Changed at"),
        ("Key,Summary,To,Changed at\nDATA-1,Load,,2024-03-01T09:00\n", "row 2, column To"),
        ("Key,Summary,Changed at\nDATA-1,Load,2024-03-01T09:00\n", "columns.to"),
    ],
)
def test_a_bad_csv_row_is_named(text, where):
    from zoneinfo import ZoneInfo

    with pytest.raises(jira.ImportFormatError) as refused:
        csvimport.read_csv(
            [("c.csv", text.encode())], shape="changes", columns=None, date_format=None, tz=ZoneInfo("UTC")
        )
    assert where in str(refused.value)


def test_deeply_nested_input_is_refused_not_crashed():
    with pytest.raises(jira.ImportFormatError, match="nested too deeply"):
        jira.read_export([("deep.json", b"[" * 100_000 + b"]" * 100_000)])
    node: dict = {"type": "doc", "version": 1, "content": []}
    doc = node
    for _ in range(5_000):  # far beyond what a recursive walk of the document takes
        child: dict = {"type": "blockquote", "content": []}
        node["content"].append(child)
        node = child
    with pytest.raises(ValueError, match="the ADF document is nested too deeply"):
        jira.adf_to_markdown(doc)


def test_a_key_longer_than_the_story_keeps_is_refused():
    with pytest.raises(jira.ImportFormatError, match="a key such as DATA-12"):
        export_of([jb.issue("A" * 70 + "-1")])


def test_nul_characters_are_dropped_from_text():
    raw = jb.issue("JRA-1", summary="Load\u0000 orders")
    assert export_of([raw]).issues[0].summary == "Load orders"
    from zoneinfo import ZoneInfo

    text = "Key,Summary,To,Changed at\nDATA-1,Lo\x00ad,Done,2024-03-01T09:00\n"
    export = csvimport.read_csv(
        [("c.csv", text.encode())], shape="changes", columns=None, date_format=None, tz=ZoneInfo("UTC")
    )
    assert export.issues[0].summary == "Load"
