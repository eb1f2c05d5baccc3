"""Pipeline results in: what dbt, Great Expectations, Airflow and OpenLineage post, as one normalized run.

A body is recognised by its shape, never by a header or a parameter: the tools post what they
already write, and a pipeline that reports through two of them needs no second endpoint.

=====================================  =============================================================
shape                                  recognised by
=====================================  =============================================================
dbt ``run_results.json`` (v4 and up)   ``metadata.dbt_schema_version`` naming ``dbt/run-results/vN``
Great Expectations validation result   ``success`` and ``results[].expectation_config`` / ``statistics``
Great Expectations checkpoint result   ``success`` and ``run_results`` (a mapping of validation results)
Airflow DAG-run callback               ``dag_id``, ``run_id`` and ``state`` (the body documented in README)
OpenLineage ``RunEvent``               ``eventType``, ``run.runId``, ``job.namespace``/``job.name``, ``eventTime``
=====================================  =============================================================

==========================  ===================================================================
name                        what it is
==========================  ===================================================================
``parse_run(body)``         the :class:`PipelineRun` a body reports; :class:`PipelineError` if none
``PipelineRun``             source, the run's id there, job, status, times, counts, failing names
``PipelineError``           a body that is no known shape, or a known shape with a bad field
``freshness(last, ...)``    :class:`Freshness`: time since the last successful run against the expected interval
``SOURCES``, ``STATUSES``   the values of ``PipelineRun.source`` and ``PipelineRun.status``
==========================  ===================================================================

Statuses: ``running`` (started, not finished), ``passed``, ``failed`` (a test or the job failed),
``errored`` (a test or a node could not run) and ``aborted`` (OpenLineage ``ABORT``). A dbt test is a
result whose ``unique_id`` starts with ``test.`` (or ``unit_test.``); ``warn`` passes, as it does in dbt.

>>> run = parse_run({
...     "metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v5.json",
...                  "invocation_id": "4c1f"},
...     "results": [
...         {"unique_id": "model.shop.orders", "status": "success", "timing": [], "failures": None,
...          "execution_time": 1.2, "message": "SELECT 10", "thread_id": "Thread-1", "adapter_response": {}},
...         {"unique_id": "test.shop.not_null_orders_id.5f2a", "status": "fail", "failures": 3,
...          "timing": [], "execution_time": 0.4, "message": "Got 3 results", "thread_id": "Thread-1",
...          "adapter_response": {}},
...     ],
...     "elapsed_time": 2.5,
... })
>>> run.source, run.external_id, run.status, (run.passed, run.failed, run.errored), run.failures
('dbt', '4c1f', 'failed', (0, 1, 0), ('test.shop.not_null_orders_id.5f2a',))
>>> from datetime import datetime, timezone
>>> now = datetime(2026, 3, 2, 12, tzinfo=timezone.utc)
>>> freshness(datetime(2026, 3, 2, 6, tzinfo=timezone.utc), expected_hours=24, now=now)
Freshness(state='fresh', hours_since=6.0, expected_hours=24)
>>> freshness(datetime(2026, 2, 28, 6, tzinfo=timezone.utc), expected_hours=24, now=now).state
'stale'
>>> parse_run({"hello": "world"})
Traceback (most recent call last):
...
sprintboard.pipelines.PipelineError: The body is none of the shapes Sprintboard reads: ...
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "FINAL_STATUSES",
    "FRESHNESS",
    "SOURCES",
    "STATUSES",
    "Freshness",
    "PipelineError",
    "PipelineRun",
    "freshness",
    "parse_run",
]

DBT, GREAT_EXPECTATIONS, AIRFLOW, OPENLINEAGE = "dbt", "great_expectations", "airflow", "openlineage"
SOURCES = (DBT, GREAT_EXPECTATIONS, AIRFLOW, OPENLINEAGE)
RUNNING, PASSED, FAILED, ERRORED, ABORTED = "running", "passed", "failed", "errored", "aborted"
STATUSES = (RUNNING, PASSED, FAILED, ERRORED, ABORTED)
FINAL_STATUSES = (PASSED, FAILED, ERRORED, ABORTED)

MAX_FAILURES = 200  # names kept per run; the counts stay exact
MAX_NAME = 300
MAX_MESSAGE = 2000
MAX_RESULTS = 50_000

UNKNOWN_SHAPE = (
    "The body is none of the shapes Sprintboard reads: a dbt run_results.json (metadata.dbt_schema_version), "
    "a Great Expectations validation or checkpoint result (success with results[].expectation_config or "
    "run_results), an Airflow DAG-run callback (dag_id, run_id, state) or an OpenLineage RunEvent "
    "(eventType, run.runId, job.namespace, job.name, eventTime)."
)


class PipelineError(ValueError):
    """A body that is no known shape (``code`` ``unknown_shape``), or one with a bad field (``invalid``)."""

    def __init__(self, message: str, *, field: str | None = None, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code


@dataclass(frozen=True, slots=True)
class PipelineRun:
    """One run as a pipeline reported it, whatever the tool."""

    source: str
    external_id: str  # the run's id at the source ("" when the body carries none)
    job: str  # dbt command, GE suite or checkpoint, Airflow DAG id, OpenLineage job name
    status: str
    started_at: datetime | None
    finished_at: datetime | None
    passed: int = 0
    failed: int = 0
    errored: int = 0
    failures: tuple[str, ...] = ()  # the failing (and erroring) tests or tasks, by name
    namespace: str = ""  # OpenLineage job namespace
    url: str = ""
    message: str = ""

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES


# --- Small readers --------------------------------------------------------------------------------


def _object(value: Any, field: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise PipelineError(f"{field} must be an object.", field=field)
    return value


def _list(value: Any, field: str) -> list[Any]:
    if not isinstance(value, list):
        raise PipelineError(f"{field} must be a list.", field=field)
    if len(value) > MAX_RESULTS:
        raise PipelineError(f"{field} has more than {MAX_RESULTS} entries.", field=field)
    return value


def _text(value: Any, field: str, *, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise PipelineError(f"{field} must be {'non-empty ' if required else ''}text.", field=field)
    return value.strip()


def _count(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise PipelineError(f"{field} must be a whole number, 0 or more.", field=field)
    return value


def _bool(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise PipelineError(f"{field} must be true or false.", field=field)
    return value


COMPACT = re.compile(
    r"^(\d{8}T\d{6})(?:\.(\d{1,6}))?Z$"
)  # Great Expectations' validation_time: 20220727T154327.701100Z


def _moment(value: Any, field: str, *, required: bool = False) -> datetime | None:
    """An ISO 8601 time (a naive one is UTC), or Great Expectations' compact form."""
    if value is None or value == "":
        if required:
            raise PipelineError(f"{field} is required: an ISO 8601 time.", field=field)
        return None
    if not isinstance(value, str):
        raise PipelineError(f"{field} must be an ISO 8601 time, such as 2026-03-01T09:30:00Z.", field=field)
    compact = COMPACT.match(value)
    try:
        if compact:
            moment = datetime.strptime(compact.group(1), "%Y%m%dT%H%M%S").replace(
                microsecond=int((compact.group(2) or "0").ljust(6, "0"))
            )
        else:
            moment = datetime.fromisoformat(value)
    except ValueError:
        raise PipelineError(f"{field} must be an ISO 8601 time, such as 2026-03-01T09:30:00Z.", field=field) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _link(value: Any) -> str:
    """An http(s) address the body gives for the run, or "" (a local file path is no link for a browser)."""
    if not isinstance(value, str) or len(value) > 500:
        return ""
    parts = urlsplit(value.strip())
    return value.strip() if parts.scheme in ("http", "https") and parts.netloc else ""


def _names(names: Iterable[str]) -> tuple[str, ...]:
    return tuple(name[:MAX_NAME] for name in list(dict.fromkeys(names))[:MAX_FAILURES])


def _status(*, failed: int, errored: int, success: bool = True) -> str:
    if errored:
        return ERRORED
    return FAILED if failed or not success else PASSED


# --- dbt ------------------------------------------------------------------------------------------

DBT_SCHEMA = re.compile(r"/dbt/([a-z-]+)/v(\d+)\.json$")
DBT_TEST_PREFIXES = ("test.", "unit_test.")
DBT_PASS, DBT_FAIL, DBT_ERROR = {"pass", "warn"}, {"fail"}, {"error", "runtime error"}
DBT_NODE_ERROR = {"error", "runtime error", "partial success"}
DBT_STATUSES = {"success", "error", "skipped", "partial success", "pass", "fail", "warn", "runtime error"}


def _dbt(body: Mapping[str, Any]) -> PipelineRun:
    metadata = _object(body["metadata"], "metadata")
    version = _text(metadata.get("dbt_schema_version"), "metadata.dbt_schema_version")
    match = DBT_SCHEMA.search(version)
    if match is None or match.group(1) != "run-results":
        kind = match.group(1) if match else "unknown"
        raise PipelineError(
            f"This dbt artifact is {kind} ({version}); post target/run_results.json.",
            field="metadata.dbt_schema_version",
        )
    if int(match.group(2)) < 4:
        raise PipelineError(
            f"dbt run_results v{match.group(2)} is too old: Sprintboard reads v4 and later.",
            field="metadata.dbt_schema_version",
        )
    passed = failed = errored = 0
    failures: list[str] = []
    messages: list[str] = []
    starts: list[datetime] = []
    ends: list[datetime] = []
    for index, raw in enumerate(_list(body.get("results"), "results")):
        where = f"results[{index}]"
        result = _object(raw, where)
        unique_id = _text(result.get("unique_id"), f"{where}.unique_id")
        status = result.get("status")
        if status not in DBT_STATUSES:
            raise PipelineError(
                f"{where}.status must be one of {', '.join(sorted(DBT_STATUSES))}.", field=f"{where}.status"
            )
        if result.get("failures") is not None:
            _count(result["failures"], f"{where}.failures")
        for step, timing in enumerate(_list(result.get("timing", []), f"{where}.timing")):
            timing = _object(timing, f"{where}.timing[{step}]")
            start = _moment(timing.get("started_at"), f"{where}.timing[{step}].started_at")
            end = _moment(timing.get("completed_at"), f"{where}.timing[{step}].completed_at")
            starts += [start] if start else []
            ends += [end] if end else []
        message = _text(result.get("message"), f"{where}.message", required=False)
        if unique_id.startswith(DBT_TEST_PREFIXES):
            passed += status in DBT_PASS
            failed += status in DBT_FAIL
            errored += status in DBT_ERROR
            bad = status in DBT_FAIL | DBT_ERROR
        else:
            errored += status in DBT_NODE_ERROR
            bad = status in DBT_NODE_ERROR
        if bad:
            failures.append(unique_id)
            messages += [f"{unique_id}: {message}"] if message else []
    generated = _moment(metadata.get("generated_at"), "metadata.generated_at")
    elapsed = body.get("elapsed_time")
    if starts:
        started: datetime | None = min(starts)
    elif generated and isinstance(elapsed, int | float) and not isinstance(elapsed, bool) and elapsed >= 0:
        started = generated - timedelta(seconds=elapsed)
    else:
        started = generated
    args = body.get("args") if isinstance(body.get("args"), Mapping) else {}
    return PipelineRun(
        source=DBT,
        external_id=_text(metadata.get("invocation_id"), "metadata.invocation_id", required=False),
        job=str(args.get("which") or "")[:MAX_NAME] if isinstance(args, Mapping) else "",
        status=_status(failed=failed, errored=errored),
        started_at=started,
        finished_at=max(ends) if ends else generated,
        passed=passed,
        failed=failed,
        errored=errored,
        failures=_names(failures),
        message="\n".join(messages)[:MAX_MESSAGE],
    )


# --- Great Expectations ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Validation:
    success: bool
    passed: int
    failed: int
    errored: int
    failures: tuple[str, ...]
    suite: str
    run_name: str
    started: datetime | None
    finished: datetime | None
    url: str
    result_id: str


def _expectation_name(config: Mapping[str, Any], where: str) -> str:
    kind = config.get("type", config.get("expectation_type"))  # GX 1.x writes "type"; 0.x "expectation_type"
    name = _text(kind, f"{where}.expectation_config.type")
    kwargs = _object(config.get("kwargs", {}), f"{where}.expectation_config.kwargs")
    column = kwargs.get("column")
    return f"{name}({column})" if isinstance(column, str) and column else name


def _validation(body: Mapping[str, Any], prefix: str = "") -> _Validation:
    success = _bool(body.get("success"), f"{prefix}success")
    passed = failed = errored = 0
    failures: list[str] = []
    results = _list(body.get("results", []), f"{prefix}results")
    for index, raw in enumerate(results):
        where = f"{prefix}results[{index}]"
        result = _object(raw, where)
        name = _expectation_name(_object(result.get("expectation_config"), f"{where}.expectation_config"), where)
        exception = result.get("exception_info")
        raised = isinstance(exception, Mapping) and exception.get("raised_exception") is True
        ok = result.get("success")
        if ok is not None:
            _bool(ok, f"{where}.success")
        if raised or ok is None:
            errored += 1
            failures.append(name)
        elif ok:
            passed += 1
        else:
            failed += 1
            failures.append(name)
    statistics = body.get("statistics")
    if not results and isinstance(statistics, Mapping) and statistics:
        passed = _count(statistics.get("successful_expectations"), f"{prefix}statistics.successful_expectations")
        failed = _count(statistics.get("unsuccessful_expectations"), f"{prefix}statistics.unsuccessful_expectations")
        _count(statistics.get("evaluated_expectations"), f"{prefix}statistics.evaluated_expectations")
    meta = body.get("meta") if isinstance(body.get("meta"), Mapping) else {}
    assert isinstance(meta, Mapping)
    run_id = meta.get("run_id") if isinstance(meta.get("run_id"), Mapping) else {}
    assert isinstance(run_id, Mapping)
    suite = body.get("suite_name") or meta.get("expectation_suite_name") or ""
    return _Validation(
        success=success,
        passed=passed,
        failed=failed,
        errored=errored,
        failures=tuple(failures),
        suite=str(suite)[:MAX_NAME],
        run_name=str(run_id.get("run_name") or ""),
        started=_moment(run_id.get("run_time"), f"{prefix}meta.run_id.run_time"),
        finished=_moment(meta.get("validation_time"), f"{prefix}meta.validation_time"),
        url=_link(body.get("result_url")),
        result_id=str(body.get("id") or ""),
    )


def _ge_run(validations: list[_Validation], *, job: str, external_id: str, url: str) -> PipelineRun:
    failed = sum(v.failed for v in validations)
    errored = sum(v.errored for v in validations)
    starts = [v.started for v in validations if v.started]
    ends = [v.finished for v in validations if v.finished]
    return PipelineRun(
        source=GREAT_EXPECTATIONS,
        external_id=external_id[:MAX_NAME],
        job=job[:MAX_NAME],
        status=_status(failed=failed, errored=errored, success=all(v.success for v in validations)),
        started_at=min(starts) if starts else None,
        finished_at=max(ends) if ends else (max(starts) if starts else None),
        passed=sum(v.passed for v in validations),
        failed=failed,
        errored=errored,
        failures=_names(name for v in validations for name in v.failures),
        url=url or next((v.url for v in validations if v.url), ""),
    )


def _great_expectations(body: Mapping[str, Any]) -> PipelineRun:
    validation = _validation(body)
    time = validation.started.isoformat() if validation.started else ""
    external = validation.result_id or (f"{validation.suite}:{validation.run_name}:{time}" if time else "")
    return _ge_run([validation], job=validation.suite, external_id=external, url="")


def _checkpoint(body: Mapping[str, Any]) -> PipelineRun:
    _bool(body.get("success"), "success")
    run_results = _object(body.get("run_results"), "run_results")
    if not run_results:
        raise PipelineError("run_results is empty: the checkpoint validated nothing.", field="run_results")
    validations = []
    for key, value in run_results.items():
        entry = _object(value, f"run_results[{key}]")
        # 0.x wraps each result as {"validation_result": ..., "actions_results": ...}; 1.x maps to the result itself.
        inner = entry.get("validation_result", entry)
        validations.append(_validation(_object(inner, f"run_results[{key}]"), f"run_results[{key}]."))
    config = body.get("checkpoint_config") if isinstance(body.get("checkpoint_config"), Mapping) else {}
    assert isinstance(config, Mapping)
    name = str(body.get("name") or config.get("name") or ", ".join(v.suite for v in validations if v.suite))
    run_id = body.get("run_id") if isinstance(body.get("run_id"), Mapping) else {}
    assert isinstance(run_id, Mapping)
    external = ":".join(str(run_id.get(k) or "") for k in ("run_name", "run_time")).strip(":")
    run = _ge_run(validations, job=name, external_id=f"{name}:{external}" if external else "", url="")
    if body["success"] is False and run.status == PASSED:
        run = replace(run, status=FAILED)
    url = _link(body.get("validation_result_url"))
    return replace(run, url=url) if url else run


# --- Airflow --------------------------------------------------------------------------------------

AIRFLOW_STATES = {"success": PASSED, "failed": FAILED, "running": RUNNING, "queued": RUNNING}


def _airflow(body: Mapping[str, Any]) -> PipelineRun:
    dag_id = _text(body.get("dag_id"), "dag_id")
    state = body.get("state")
    if state not in AIRFLOW_STATES:
        raise PipelineError(f"state must be one of {', '.join(AIRFLOW_STATES)} (a DAG run's state).", field="state")
    failed_tasks = [
        _text(t, f"failed_tasks[{i}]") for i, t in enumerate(_list(body.get("failed_tasks", []), "failed_tasks"))
    ]
    succeeded = _list(body.get("succeeded_tasks", []), "succeeded_tasks")
    status = AIRFLOW_STATES[state]
    failures = failed_tasks or ([dag_id] if status == FAILED else [])
    return PipelineRun(
        source=AIRFLOW,
        external_id=f"{dag_id}/{_text(body.get('run_id'), 'run_id')}"[:MAX_NAME],  # run ids are unique per DAG only
        job=dag_id[:MAX_NAME],
        status=status,
        started_at=_moment(body.get("start_date"), "start_date"),
        finished_at=_moment(body.get("end_date"), "end_date") if status != RUNNING else None,
        passed=len(succeeded),
        failed=len(failed_tasks) if failed_tasks else int(status == FAILED),
        failures=_names(failures),
        url=_link(body.get("url")),
        message=_text(body.get("message"), "message", required=False)[:MAX_MESSAGE],
    )


# --- OpenLineage ----------------------------------------------------------------------------------

OPENLINEAGE_TYPES = {
    "START": RUNNING,
    "RUNNING": RUNNING,
    "OTHER": RUNNING,  # extra metadata for the run: never a transition (the service keeps a final status)
    "COMPLETE": PASSED,
    "FAIL": FAILED,
    "ABORT": ABORTED,
}


def _assertions(body: Mapping[str, Any]) -> tuple[int, list[str]]:
    """Passed and failing data-quality assertions of the inputs (the ``dataQualityAssertions`` facet)."""
    passed, failing = 0, []
    for index, raw in enumerate(_list(body.get("inputs", []), "inputs")):
        dataset = _object(raw, f"inputs[{index}]")
        facets = dataset.get("inputFacets") if isinstance(dataset.get("inputFacets"), Mapping) else {}
        assert isinstance(facets, Mapping)
        facet = facets.get("dataQualityAssertions")
        if not isinstance(facet, Mapping):
            continue
        where = f"inputs[{index}].inputFacets.dataQualityAssertions.assertions"
        for position, item in enumerate(_list(facet.get("assertions", []), where)):
            assertion = _object(item, f"{where}[{position}]")
            name = _text(assertion.get("assertion"), f"{where}[{position}].assertion")
            column = assertion.get("column")
            label = f"{dataset.get('name', '')}: {name}" + (f"({column})" if isinstance(column, str) and column else "")
            if _bool(assertion.get("success"), f"{where}[{position}].success"):
                passed += 1
            else:
                failing.append(label)
    return passed, failing


def _openlineage(body: Mapping[str, Any]) -> PipelineRun:
    schema = body.get("schemaURL")
    if isinstance(schema, str) and re.search(r"/(JobEvent|DatasetEvent)$", schema):
        raise PipelineError("This OpenLineage event has no run: post RunEvents.", field="schemaURL")
    event_type = body.get("eventType")
    if event_type not in OPENLINEAGE_TYPES:
        raise PipelineError(f"eventType must be one of {', '.join(OPENLINEAGE_TYPES)}.", field="eventType")
    run = _object(body.get("run"), "run")
    job = _object(body.get("job"), "job")
    _text(body.get("producer"), "producer")
    name = _text(job.get("name"), "job.name")
    moment = _moment(body.get("eventTime"), "eventTime", required=True)
    status = OPENLINEAGE_TYPES[event_type]
    passed, failing = _assertions(body)
    if status == PASSED and failing:
        status = FAILED
    facets = run.get("facets") if isinstance(run.get("facets"), Mapping) else {}
    assert isinstance(facets, Mapping)
    error = facets.get("errorMessage")
    message = str(error.get("message") or "") if isinstance(error, Mapping) else ""
    failures = failing or ([name] if status == FAILED else [])
    return PipelineRun(
        source=OPENLINEAGE,
        external_id=_text(run.get("runId"), "run.runId"),
        job=name[:MAX_NAME],
        namespace=_text(job.get("namespace"), "job.namespace")[:MAX_NAME],
        status=status,
        started_at=moment if event_type == "START" else None,
        finished_at=moment if status in FINAL_STATUSES else None,
        passed=passed,
        failed=len(failing) if failing else int(status == FAILED),
        failures=_names(failures),
        message=message[:MAX_MESSAGE],
    )


# --- Recognising the shape ------------------------------------------------------------------------


def _is_ge_validation(body: Mapping[str, Any]) -> bool:
    results = body.get("results")
    configured = isinstance(results, list) and any(
        isinstance(r, Mapping) and "expectation_config" in r for r in results
    )
    return "success" in body and (configured or isinstance(body.get("statistics"), Mapping))


def parse_run(body: Any) -> PipelineRun:
    """The run ``body`` reports, recognised by its shape; :class:`PipelineError` names what is wrong."""
    if not isinstance(body, Mapping):
        raise PipelineError("The body must be a JSON object.", code="parse_error")
    metadata = body.get("metadata")
    if isinstance(metadata, Mapping) and "dbt_schema_version" in metadata:
        return _dbt(body)
    if "eventType" in body or ("run" in body and "job" in body and "eventTime" in body):
        return _openlineage(body)
    if "run_results" in body and "success" in body:
        return _checkpoint(body)
    if _is_ge_validation(body):
        return _great_expectations(body)
    if "dag_id" in body:
        return _airflow(body)
    raise PipelineError(UNKNOWN_SHAPE, code="unknown_shape")


# --- Freshness ------------------------------------------------------------------------------------

FRESH, STALE, NEVER, UNCHECKED = "fresh", "stale", "never", "unchecked"
FRESHNESS = (FRESH, STALE, NEVER, UNCHECKED)


@dataclass(frozen=True, slots=True)
class Freshness:
    """``fresh`` (a success within the expected interval), ``stale`` (none within it), ``never`` (no success
    yet) or ``unchecked`` (a success, and no expected interval to judge it by)."""

    state: str
    hours_since: float | None  # since the last successful run; None before the first
    expected_hours: int | None

    @property
    def stale(self) -> bool:
        return self.state == STALE or (self.state == NEVER and self.expected_hours is not None)

    @property
    def age_label(self) -> str:
        """The time since the last success, short: "45 min", "6 h", "3 d" ("" before the first)."""
        if self.hours_since is None:
            return ""
        if self.hours_since < 1:
            return f"{int(self.hours_since * 60)} min"
        return f"{int(self.hours_since)} h" if self.hours_since < 48 else f"{int(self.hours_since // 24)} d"


def freshness(last_success: datetime | None, *, expected_hours: int | None, now: datetime) -> Freshness:
    """How fresh the data is: the time since ``last_success`` against ``expected_hours``."""
    if expected_hours is not None and expected_hours <= 0:
        raise ValueError("expected_hours must be a positive number of hours")
    if last_success is None:
        return Freshness(NEVER, None, expected_hours)
    hours = max(0.0, (now - last_success).total_seconds() / 3600)
    if expected_hours is None:
        return Freshness(UNCHECKED, hours, None)
    return Freshness(FRESH if hours <= expected_hours else STALE, hours, expected_hours)
