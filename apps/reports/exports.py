"""A stored report as tables (CSV downloads, one per table) and as a JSON download.

``tables(kind, result)`` turns a result into named tables of plain rows, first table first; the
pages show the same rows beside their charts, so a chart, its table and its CSV always agree.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.http import HttpResponse

from apps.core.downloads import csv_download, json_download
from apps.core.errors import Conflict, InvalidInput
from apps.deliverables.models import DeliverableKind
from apps.reports.models import ReportKind

Table = tuple[list[str], list[list[Any]]]
KIND_NAMES = dict(DeliverableKind.choices)


# A moment as the results keep it (ISO 8601 with a time); a plain date stays as it is.
ISO_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def timestamp(value: object) -> datetime | None:
    """The UTC moment an ISO 8601 timestamp of a result names, or None for anything else."""
    if not isinstance(value, str) or not ISO_MOMENT.match(value):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else moment


def csv_cell(value: Any) -> Any:
    """A cell as a spreadsheet reads it: numbers to two decimals at most, timestamps to the second, in UTC
    (``2026-12-01 21:20:25``), not as the result's JSON keeps them.

    >>> csv_cell(26.76923076923077), csv_cell(4.0), csv_cell("2026-12-01T21:20:25.073772Z"), csv_cell("DATA-1")
    (26.77, 4, '2026-12-01 21:20:25', 'DATA-1')
    """
    moment = timestamp(value)
    if moment is not None:
        return f"{moment:%Y-%m-%d %H:%M:%S}"
    if isinstance(value, float):
        return int(value) if value.is_integer() else round(value, 2)
    return value


def readable(table: Table) -> Table:
    headers, rows = table
    return headers, [[csv_cell(value) for value in row] for row in rows]


STARTED_CATEGORIES = ("active", "waiting")


def _started(state_time: dict[str, Any]) -> bool:
    """A started state's row (results computed before categories were kept show every state)."""
    return state_time.get("category", "active") in STARTED_CATEGORIES


def _state_name(result: dict[str, Any], state_id: Any) -> str:
    return result.get("state_names", {}).get(str(state_id), f"state {state_id}")


def _kind_name(kind: str) -> str:
    return KIND_NAMES.get(kind, kind)


def _sprint_tables(r: dict[str, Any]) -> dict[str, Table]:
    lists = ("committed", "already_done", "added", "removed", "completed", "cancelled", "not_completed", "unestimated")
    stories = [[name, key] for name in lists for key in r.get(name, [])]
    burndown = [
        [d["date"], d["remaining_points"], d["scope_points"], d["ideal_points"], d["completed_points"]]
        for d in r["burndown"]
    ]
    return {
        "burndown": (["date", "remaining_points", "scope_points", "ideal_points", "completed_points"], burndown),
        "stories": (["list", "key"], stories),
        "published_deliverables": (
            ["deliverable", "kind", "published_at"],
            [[d["name"], _kind_name(d["kind"]), d["published_at"]] for d in r.get("published_deliverables", [])],
        ),
        "reestimated": (
            ["key", "old_points", "new_points"],
            [[x["key"], x["old_points"], x["new_points"]] for x in r["reestimated"]],
        ),
        "scope_changes": (
            ["at", "key", "kind", "points"],
            [[x["at"], x["key"], x["kind"], x["points"]] for x in r["scope_changes"]],
        ),
        "summary": (
            ["measure", "value"],
            [
                [name, r[name]]
                for name in (
                    "committed_points",
                    "added_points",
                    "removed_points",
                    "completed_points",
                    "cancelled_points",
                    "not_completed_points",
                    "reestimate_delta",
                    "scope_churn",
                )
            ],
        ),
    }


def _flow_tables(r: dict[str, Any]) -> dict[str, Table]:
    states = r["states"]
    cfd = [[day["date"], *(day["counts"].get(str(s), 0) for s in states)] for day in r["cfd"]]
    efficiency = r["flow_efficiency"]
    return {
        "cycle_times": (
            ["key", "start", "finish", "days", "hours"],
            [[c["key"], c["start"], c["finish"], c["days"], c["hours"]] for c in r["cycle_times"]],
        ),
        "percentiles": (["percentile", "days"], [[p, v] for p, v in r["percentiles"].items()]),
        "throughput": (["date", "count"], [[d["date"], d["count"]] for d in r["throughput"]]),
        "wip": (["date", "count"], [[d["date"], d["count"]] for d in r["wip"]]),
        "cfd": (["date", *(_state_name(r, s) for s in states)], cfd),
        "work_item_age": (
            ["key", "state", "start", "days"],
            [[a["key"], _state_name(r, a["state"]), a["start"], a["days"]] for a in r["work_item_age"]],
        ),
        "time_in_started_states": (
            ["state", "hours", "stories"],
            [[t["name"], t["hours"], t["n"]] for t in r["time_in_state"] if _started(t)],
        ),
        "time_in_state": (
            ["state", "category", "hours", "stories"],
            [[t["name"], t.get("category", ""), t["hours"], t["n"]] for t in r["time_in_state"]],
        ),
        "lead_times": (
            ["key", "created", "finish", "days"],
            [[x["key"], x["created"], x["finish"], x["days"]] for x in r["lead_times"]],
        ),
        "flow_efficiency": (
            ["key", "active_hours", "wait_hours", "efficiency"],
            [[x["key"], x["active_hours"], x["wait_hours"], x["efficiency"]] for x in efficiency["stories"]],
        ),
    }


def _velocity_tables(r: dict[str, Any]) -> dict[str, Table]:
    rows = [
        [
            s["name"],
            s["closed_at"],
            s["committed_points"],
            s["completed_points"],
            s["n_committed"],
            s["n_completed"],
            s["scope_churn"],
        ]
        for s in r["sprints"]
    ]
    return {
        "sprints": (
            ["sprint", "closed_at", "committed_points", "completed_points", "committed", "completed", "scope_churn"],
            rows,
        )
    }


# Each waste's headline figure in the trend across sprints: (waste, figure, what n counts), as in sprintboard.waste.
WASTE_TREND = (
    ("partially_done", "carry_over", "stories_in_sprint"),
    ("waiting", "wait_hours", "finished"),
    ("task_switching", "flagged_person_days", "person_days"),
    ("handoffs", "assignee_changes", "finished"),
    ("rework", "reopens_per_finished", "finished"),
    ("extra_features", "cancelled_after_start", "stories"),
    ("backlog", "scope_churn", "committed"),
    ("relearning", "silences_resumed", "stories"),
)


def _trend_of(r: dict[str, Any]) -> list[dict[str, Any]]:
    return r.get("trend") or []  # a result stored before the trend existed has none: empty tables


def _waste_trend_table(r: dict[str, Any]) -> Table:
    """Every waste's headline figure per closed sprint, oldest first (the ``trend`` CSV)."""
    return (
        ["sprint", "start", "end", "waste", "figure", "value", "n", "stories"],
        [
            [
                s["name"],
                s["start"],
                s["end"],
                waste,
                figure,
                s[waste]["value"],
                s[waste]["n"],
                " ".join(s[waste]["keys"]),
            ]
            for s in _trend_of(r)
            for waste, figure, _ in WASTE_TREND
        ],
    )


def waste_trend_tables(r: dict[str, Any]) -> dict[str, Table]:
    """One table per waste (the rows of the ``trend`` CSV for that waste), shown beside its trend chart."""
    return {
        waste: (
            ["sprint", figure, n_label, "stories"],
            [[s["name"], s[waste]["value"], s[waste]["n"], " ".join(s[waste]["keys"])] for s in _trend_of(r)],
        )
        for waste, figure, n_label in WASTE_TREND
    }


def _waste_tables(r: dict[str, Any]) -> dict[str, Table]:
    return {**_waste_signal_tables(r), "trend": _waste_trend_table(r)}


def _waste_signal_tables(r: dict[str, Any]) -> dict[str, Table]:
    waiting, rework = r["waiting"], r["rework"]
    return {
        "partially_done": (
            [
                "sprint",
                "closed_at",
                "wip",
                "total_age_days",
                "carry_over",
                "carry_over_points",
                "sle_days",
                "older_than_sle",
                "older_than_sle_share",
            ],
            [
                [
                    p["name"],
                    p["closed_at"],
                    p["wip"],
                    p["total_age_days"],
                    p["carry_over"],
                    p["carry_over_points"],
                    p["sle_days"],
                    p["older_than_sle"],
                    p["older_than_sle_share"],
                ]
                for p in r["partially_done"]
            ],
        ),
        "waiting_by_state": (
            ["state", "hours", "stories"],
            [[w["name"], w["hours"], " ".join(w["keys"])] for w in waiting["by_state"]],
        ),
        "waiting_by_reason": (
            ["reason", "hours", "stories"],
            [[w["reason"], w["hours"], " ".join(w["keys"])] for w in waiting["by_reason"]],
        ),
        "task_switching": (
            ["person", "date", "stories", "keys"],
            [[p["person"], p["date"], p["count"], " ".join(p["keys"])] for p in r["task_switching"]["flagged"]],
        ),
        "handoffs": (["key", "assignees"], [[k, n] for k, n in r["handoffs"]["assignees_per_story"].items()]),
        "rework": (
            ["signal", "count", "stories"],
            [
                ["reopens", rework["reopens"], " ".join(rework["reopen_keys"])],
                ["backward_moves", rework["backward_moves"], " ".join(rework["backward_keys"])],
                ["bugs_created", rework["bugs_created"], " ".join(rework["bug_keys"])],
                [
                    "published_deliverables_failing",
                    rework.get("failed_deliverables", 0),
                    " ".join(rework.get("failed_deliverable_names", [])),
                ],
            ],
        ),
        "cancelled_after_start": (
            ["key", "cancelled_at", "active_hours"],
            [[c["key"], c["cancelled_at"], c["active_hours"]] for c in r["extra_features"]["cancelled_after_start"]],
        ),
        "scope_churn": (
            ["sprint", "scope_churn", "added_points", "removed_points", "committed_points"],
            [
                [s["name"], s["scope_churn"], s["added_points"], s["removed_points"], s["committed_points"]]
                for s in r["backlog"]["sprints"]
            ],
        ),
        "retired_unpublished": (
            ["deliverable"],
            [[name] for name in r["extra_features"].get("retired_unpublished", [])],
        ),
    }


def _forecast_tables(r: dict[str, Any]) -> dict[str, Table]:
    label = "at_least_stories" if r.get("mode") == "how_many" else "done_by"
    history = [[i, count] for i, count in enumerate(r["history"], start=1)]
    return {
        "likely": (["likelihood_percent", label], [[p, v] for p, v in r["likely"].items()]),
        "history": (["history_day", "throughput"], history),
    }


def _dataops_tables(r: dict[str, Any]) -> dict[str, Table]:
    kinds = sorted(
        {kind for row in r["throughput"] for kind in row["counts"]}, key=lambda k: (_kind_name(k).casefold(), k)
    )
    overall = [[p, r["time_to_insight"].get(p), r["validation_lag"].get(p)] for p in ("50", "70", "85", "95", "n")]
    return {
        "deliverables": (
            [
                "deliverable",
                "kind",
                "published_at",
                "first_start",
                "last_finish",
                "time_to_insight_days",
                "validation_lag_days",
                "stories",
            ],
            [
                [
                    d["name"],
                    _kind_name(d["kind"]),
                    d["published_at"],
                    d["first_start"],
                    d["last_finish"],
                    d["time_to_insight_days"],
                    d["validation_lag_days"],
                    d["n"],
                ]
                for d in r["deliverables"]
            ],
        ),
        "by_kind": (
            [
                "kind",
                "published",
                "time_to_insight_p50",
                "time_to_insight_p85",
                "time_to_insight_n",
                "validation_lag_p50",
                "validation_lag_p85",
                "validation_lag_n",
            ],
            [
                [
                    _kind_name(k["kind"]),
                    k["n"],
                    k["time_to_insight"]["50"],
                    k["time_to_insight"]["85"],
                    k["time_to_insight"]["n"],
                    k["validation_lag"]["50"],
                    k["validation_lag"]["85"],
                    k["validation_lag"]["n"],
                ]
                for k in r["by_kind"]
            ],
        ),
        "per_sprint": (
            ["sprint", *(_kind_name(k) for k in kinds), "total"],
            [[row["name"], *(row["counts"].get(k, 0) for k in kinds), row["n"]] for row in r["throughput"]],
        ),
        "percentiles": (["percentile", "time_to_insight_days", "validation_lag_days"], overall),
    }


TABLES: dict[str, Callable[[dict[str, Any]], dict[str, Table]]] = {
    ReportKind.SPRINT: _sprint_tables,
    ReportKind.FLOW: _flow_tables,
    ReportKind.VELOCITY: _velocity_tables,
    ReportKind.WASTE: _waste_tables,
    ReportKind.FORECAST: _forecast_tables,
    ReportKind.DATAOPS: _dataops_tables,
}


def tables(kind: str, result: dict[str, Any]) -> dict[str, Table]:
    return TABLES[kind](result)


def report_body(report: Any) -> dict[str, Any]:
    """The API's answer: what the report is and its state, then (once done) every field of its result."""
    body: dict[str, Any] = {
        "kind": report.kind,
        "parameters": report.parameters,
        "status": report.status,
        "progress": report.progress,
        "computed_at": report.computed_at.isoformat().replace("+00:00", "Z") if report.computed_at else None,
        "inputs": {
            "event_seq": report.event_seq,
            "config_hash": report.config_hash or None,
            "as_of_day": report.as_of_day.isoformat() if report.as_of_day else None,
        },
        "error": report.error or None,
    }
    if report.status == "done" and report.result:
        body.update(report.result)
    return body


def filename(report: Any, suffix: str) -> str:
    day = report.as_of_day.isoformat() if report.as_of_day else "now"
    name = f"sprint-{report.sprint_id}" if report.kind == ReportKind.SPRINT else report.kind
    return f"{report.project.key}-{name}-{day}{suffix}"


def requested_download(report: Any, query: Any) -> HttpResponse | None:
    """The download asked for by ``?format=csv|json`` (``&table=`` for CSV), or None for the normal answer.

    A report still being computed has nothing to download yet: None, so the caller answers 202.
    """
    fmt = query.get("format")
    if fmt in (None, ""):
        return None
    if fmt not in ("csv", "json"):
        raise InvalidInput("format must be csv or json.", field="format", code="invalid_choice")
    table_name = query.get("table")
    if report.status == "failed":
        raise Conflict(f"This report failed: {report.error} Queue it again first.", code="report_failed")
    if report.status != "done":
        return None
    if fmt == "json":
        return json_download(report_body(report), filename=filename(report, ".json"))
    available = tables(report.kind, report.result)
    if table_name in (None, ""):
        table_name = next(iter(available))
    if table_name not in available:
        raise InvalidInput(f"table must be one of {', '.join(available)}.", field="table", code="invalid_choice")
    return csv_download(readable(available[table_name]), filename=filename(report, f"-{table_name}.csv"))
