"""A Jira history with a bit of everything, and the people it names."""

from __future__ import annotations

import pytest

from apps.projects import services as project_services
from apps.projects.models import Role
from tests.sprintboard import jira_builders as jb

S1 = jb.sprint(
    1, "Sprint 1", "closed", "2024-03-04T09:00:00.000Z", "2024-03-15T17:00:00.000Z", "2024-03-15T17:00:00.000Z"
)
S2 = jb.sprint(2, "Sprint 2", "active", "2024-03-18T09:00:00.000+0100", "2024-03-29T17:00:00.000+0100")


def story_one() -> dict:
    """Renamed status, points changed mid-sprint, flagged and unflagged, carried over, done, reopened, done."""
    return jb.issue(
        "JRA-1",
        summary="Load the orders table",
        created="2024-03-01T09:00:00.000+0200",
        assignee="bob",
        points=5,
        sprints=[S1, S2],
        status_=jb.status("10001"),
        epic="JRA-3",
        labels=["etl"],
        description=jb.adf("Load orders nightly.", "Then validate."),
        histories=[
            jb.history(
                "2024-03-02T10:00:00.000Z",
                "ann",
                jb.item("Sprint", "", "", "1", "Sprint 1", fieldtype="custom"),
                jb.item("Story Points", None, None, None, "3", fieldtype="custom"),
            ),
            jb.history(
                "2024-03-05T08:00:00.000+0100",
                "bob",
                jb.moved("1", "3", to_name="In Dev"),
                jb.item("assignee", "ann", "Ann", "bob", "Bob"),
            ),
            jb.history(
                "2024-03-06T12:00:00.000Z", "bob", jb.item("Story Points", None, "3", None, "5", fieldtype="custom")
            ),
            jb.history(
                "2024-03-07T12:00:00.000Z",
                "bob",
                jb.item("Flagged", None, None, None, "Impediment", fieldtype="custom"),
            ),
            jb.history(
                "2024-03-08T12:00:00.000Z",
                "bob",
                jb.item("Flagged", None, "Impediment", None, None, fieldtype="custom"),
            ),
            jb.history(
                "2024-03-15T17:00:00.000Z",
                "ann",
                jb.item("Sprint", "1", "Sprint 1", "1, 2", "Sprint 1, Sprint 2", fieldtype="custom"),
            ),
            jb.history("2024-03-19T09:00:00.000Z", "bob", jb.moved("3", "10001")),
            jb.history("2024-03-20T09:00:00.000+0200", "bob", jb.moved("10001", "3")),
            jb.history("2024-03-21T09:00:00.000Z", "bob", jb.moved("3", "10001")),
        ],
    )


def story_two() -> dict:
    """Moved back and forth, now waiting; never estimated; assigned to someone not in Sprintboard."""
    return jb.issue(
        "JRA-2",
        type_="Bug",
        created="2024-03-02T09:00:00.000Z",
        assignee="zed",
        status_=jb.status("4"),
        histories=[
            jb.history("2024-03-04T09:00:00.000Z", "bob", jb.moved("1", "3")),
            jb.history("2024-03-05T09:00:00.000Z", "bob", jb.moved("3", "1")),
            jb.history("2024-03-06T09:00:00.000Z", "zed", jb.moved("1", "3")),
            jb.history("2024-03-07T09:00:00.000Z", "zed", jb.moved("3", "4")),
        ],
    )


def history_issues() -> list[dict]:
    return [
        story_one(),
        story_two(),
        jb.issue("JRA-3", type_="Epic", summary="Orders ingestion", created="2024-02-20T09:00:00.000Z"),
        jb.issue("JRA-4", type_="Sub-task", created="2024-03-03T09:00:00.000Z"),
        jb.issue("JRA-5", created="2024-03-10T09:00:00.000Z", description="Plain *wiki* text", points=2,
                 sprints=[S2]),
    ]  # fmt: skip


@pytest.fixture
def jira_people(project, make_user):
    people = {name: make_user(name, email=f"{name}@example.com") for name in ("ann", "bob")}
    project_services.membership_add(project=project, user=people["ann"], role=Role.PRODUCT_OWNER)
    project_services.membership_add(project=project, user=people["bob"], role=Role.MEMBER)
    return people
