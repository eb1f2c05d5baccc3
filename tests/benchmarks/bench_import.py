"""Benchmark of the Jira import: 10,000 issues with 100,000 changelog items, read, planned and written.

Generates Jira Server search pages (``/rest/api/2/search?expand=changelog,names``, 500 issues a page) with
statuses moved back and forth, sprints, points changes, assignees and flags; imports them into an empty
project in its own database ``sprintboard_bench_import`` on the server of DATABASE_URL; times each phase;
then checks the imported project with ``verify_events`` and times a re-import of the same pages (which
must write nothing). Target: the import in ≤ 60 s, and no mismatch.

Run ``python tests/benchmarks/bench_import.py [--issues N] [--items-per-issue M]``. Not collected by pytest.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
DB_NAME = "sprintboard_bench_import"
PEOPLE = ("ann", "bob", "cem", "dee", "eli", "fay", "gus", "hal")
STATUS = {"1": "To Do", "3": "In Progress", "5": "In Review", "6": "Waiting for data", "10001": "Done"}
CATEGORY = {"1": "new", "3": "indeterminate", "5": "indeterminate", "6": "indeterminate", "10001": "done"}
BASE = datetime(2023, 1, 2, 9, tzinfo=UTC)
SPRINTS = 30


def bench_database_url() -> str:
    from tests.benchmarks.databases import fresh_postgres_database

    return fresh_postgres_database(DB_NAME, who="bench_import")


def timed(label: str, work: Callable[[], object]) -> tuple[float, object]:
    began = time.perf_counter()
    result = work()
    elapsed = time.perf_counter() - began
    print(f"{label:<62} {elapsed:8.2f} s", flush=True)
    return elapsed, result


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def user(name: str) -> dict:
    return {"name": name, "key": name, "displayName": name.title(), "emailAddress": f"{name}@example.com"}


def sprint(index: int) -> dict:
    start = BASE + timedelta(days=14 * index)
    last = index == SPRINTS - 1
    return {
        "id": index + 1,
        "name": f"Sprint {index + 1}",
        "state": "active" if last else "closed",
        "startDate": stamp(start),
        "endDate": stamp(start + timedelta(days=13, hours=8)),
        "completeDate": None if last else stamp(start + timedelta(days=13, hours=8)),
    }


def item(field: str, from_id, from_string, to_id, to_string) -> dict:
    return {
        "field": field,
        "fieldtype": "jira",
        "from": from_id,
        "fromString": from_string,
        "to": to_id,
        "toString": to_string,
    }


def moved(a: str, b: str) -> dict:
    return item("status", a, STATUS[a], b, STATUS[b])


def issue(number: int, rng: random.Random, items_per_issue: int) -> dict:
    created = BASE + timedelta(minutes=rng.randrange(0, 60 * 24 * 14 * (SPRINTS - 1)))
    at = created
    sprint_index = min((created - BASE).days // 14, SPRINTS - 1)
    points, who = rng.choice((1, 2, 3, 5, 8)), rng.choice(PEOPLE)
    status, histories, count, blocked = "1", [], 0, False

    def log(*items: dict) -> None:
        nonlocal at, count
        at += timedelta(minutes=rng.randrange(20, 60 * 30))
        histories.append(
            {"id": str(len(histories)), "author": user(rng.choice(PEOPLE)), "created": stamp(at), "items": list(items)}
        )
        count += len(items)

    log(
        item("Sprint", "", "", str(sprint_index + 1), f"Sprint {sprint_index + 1}"),
        item("Story Points", None, None, None, str(points)),
    )
    log(moved("1", "3"), item("assignee", None, None, who, who.title()))
    status = "3"
    while count < items_per_issue:
        left = items_per_issue - count
        roll = rng.random()
        if roll < 0.15 and left >= 1:
            new = rng.choice((1, 2, 3, 5, 8, 13))
            log(item("Story Points", None, str(points), None, str(new)))
            points = new
        elif roll < 0.3:
            log(item("Flagged", None, "Impediment" if blocked else None, None, None if blocked else "Impediment"))
            blocked = not blocked
        elif roll < 0.4:
            new_who = rng.choice(PEOPLE)
            log(item("assignee", who, who.title(), new_who, new_who.title()))
            who = new_who
        else:
            following = {"1": "3", "3": rng.choice(("5", "6", "10001")), "5": rng.choice(("3", "10001")), "6": "3"}
            target = following.get(status, "3")  # from Done: reopened
            log(moved(status, target))
            status = target
    fields = {
        "summary": f"Generated work item {number}",
        "issuetype": {"name": rng.choice(("Story", "Story", "Story", "Bug", "Task"))},
        "status": {"id": status, "name": STATUS[status], "statusCategory": {"key": CATEGORY[status]}},
        "created": stamp(created),
        "assignee": user(who),
        "reporter": user(rng.choice(PEOPLE)),
        "labels": [rng.choice(("etl", "bi", "ml", "dq"))],
        "description": {
            "type": "doc",
            "version": 1,
            "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Generated."}]}],
        },
        "customfield_10016": points,
        "customfield_10020": [sprint(sprint_index)],
        "customfield_10021": [{"value": "Impediment"}] if blocked else None,
    }
    return {"id": str(number), "key": f"GEN-{number}", "fields": fields, "changelog": {"histories": histories}}


def pages(issues: int, items_per_issue: int, seed: int, per_page: int = 500) -> list[tuple[str, bytes]]:
    rng = random.Random(seed)
    generated = [issue(n, rng, items_per_issue) for n in range(1, issues + 1)]
    names = {"customfield_10016": "Story Points", "customfield_10020": "Sprint", "customfield_10021": "Flagged"}
    out = []
    for start in range(0, issues, per_page):
        page = {
            "startAt": start,
            "maxResults": per_page,
            "total": issues,
            "issues": generated[start : start + per_page],
            "names": names,
        }
        out.append((f"page-{start // per_page + 1}.json", json.dumps(page).encode()))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=10_000)
    parser.add_argument("--items-per-issue", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = bench_database_url()
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_SECRET_KEY", "benchmark-only-" + "k" * 40)
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from apps.imports import services
    from apps.projects import services as project_services
    from apps.projects.models import Role
    from apps.stories.verification import verify_project
    from sprintboard import jira

    call_command("migrate", verbosity=0)
    _, files = timed(
        f"generate {args.issues:,} issues (Jira Server pages; not a target)",
        lambda: pages(args.issues, args.items_per_issue, args.seed),
    )
    size = sum(len(content) for _, content in files)
    users = {name: get_user_model().objects.create_user(username=name, email=f"{name}@example.com") for name in PEOPLE}
    project = project_services.project_create(creator=users["ann"], key="GEN", name="Generated")
    for name in PEOPLE[1:]:
        project_services.membership_add(project=project, user=users[name], role=Role.MEMBER)

    read, export = timed(
        f"read: {len(files)} pages, {size / 2**20:.0f} MiB of JSON (parse + check)", lambda: jira.read_export(files)
    )
    analysis = jira.analyse(export)
    print(
        f"  {analysis.issues:,} issues, {analysis.changelog_items:,} changelog items, {len(analysis.statuses)} statuses"
    )
    mapping = jira.mapping_from_json(
        {"statuses": {"6": {"category": "waiting"}}}, analysis, usernames={name: name for name in PEOPLE}
    )
    planned_s, planned = timed("analyse + plan (every change merged in time order)", lambda: jira.plan(export, mapping))
    write, summary = timed(
        "write: stories, events, sprints (one transaction)",
        lambda: services.import_write(
            project=project, export=export, mapping=mapping, plan=planned, actor=users["ann"]
        ),
    )
    total = read + planned_s + write
    print(
        f"  {summary['created']:,} stories created, {summary['events']:,} events, {summary['sprints_created']} sprints"
    )
    print(f"import in all (read + plan + write) {' ' * 26} {total:8.2f} s (target <= 60 s)")
    checked, mismatches = timed("verify_events on the imported project", lambda: list(verify_project(project)))
    print(f"  mismatches: {len(mismatches)}" + "".join(f"\n    {m}" for m in mismatches[:10]))  # type: ignore[arg-type]
    again, second = timed(
        "re-import of the same pages (read + plan + nothing to write)",
        lambda: services.import_files_now(project=project, actor=users["ann"], source="jira", files=files,
                                          mapping={"statuses": {"6": {"category": "waiting"}}}),
    )  # fmt: skip
    print(f"  re-import: {second['created']} created, {second['updated']} updated, {second['events']} events")
    if mismatches or second["events"]:
        sys.exit("the imported project does not verify, or the re-import wrote events")


if __name__ == "__main__":
    main()
