"""Each tool's body, shaped as its documented schema, becomes one normalized run; anything else is refused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sprintboard.pipelines import PipelineError, parse_run
from tests.sprintboard.pipeline_builders import (
    airflow_callback,
    dbt_failing,
    dbt_passing,
    dbt_result,
    dbt_run_results,
    ge_checkpoint,
    ge_expectation,
    ge_validation,
    openlineage_event,
)


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


# --- dbt ---------------------------------------------------------------------------------------------


def test_a_passing_dbt_build_counts_its_tests_and_not_its_models():
    run = parse_run(dbt_passing())
    assert (run.source, run.status, run.passed, run.failed, run.errored, run.failures) == ("dbt", "passed", 2, 0, 0, ())
    assert run.external_id == "b2c1e3a4-6f0d-4d8e-9c57-1f1f0c1a2b3c" and run.job == "build"
    assert run.started_at == moment("2026-03-02T06:00:01.100000+00:00")
    assert run.finished_at == moment("2026-03-02T06:00:04.900000+00:00")


def test_a_failing_dbt_test_fails_the_run_and_is_named_while_a_warning_passes():
    run = parse_run(dbt_failing())
    assert (run.status, run.passed, run.failed, run.errored) == ("failed", 2, 1, 0)
    assert run.failures == ("test.jaffle_shop.unique_orders_order_id.fed79b3a6e",)
    assert "Got 3 results" in run.message


def test_an_erroring_model_or_test_makes_the_run_errored():
    body = dbt_run_results(
        dbt_result("model.shop.orders", "error", message="Database Error: relation does not exist"),
        dbt_result("test.shop.not_null_orders_id.1a2b", "skipped"),
        dbt_result("unit_test.shop.orders.test_totals", "error", message="Compilation Error"),
        dbt_result("test.shop.unique_orders_id.3c4d", "fail", failures=2),
    )
    run = parse_run(body)
    assert (run.status, run.passed, run.failed, run.errored) == ("errored", 0, 1, 2)
    assert run.failures == ("model.shop.orders", "unit_test.shop.orders.test_totals", "test.shop.unique_orders_id.3c4d")


@pytest.mark.parametrize("version", [4, 5, 6])
def test_every_run_results_schema_from_v4_is_read(version):
    assert parse_run(dbt_run_results(dbt_result("test.a.b", "pass"), version=version)).passed == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (
            lambda b: b["metadata"].update(dbt_schema_version="https://schemas.getdbt.com/dbt/run-results/v3.json"),
            "metadata.dbt_schema_version",
        ),
        (
            lambda b: b["metadata"].update(dbt_schema_version="https://schemas.getdbt.com/dbt/manifest/v11.json"),
            "metadata.dbt_schema_version",
        ),
        (lambda b: b.update(results="all good"), "results"),
        (lambda b: b["results"][0].update(status="exploded"), "results[0].status"),
        (lambda b: b["results"][1].pop("unique_id"), "results[1].unique_id"),
        (lambda b: b["results"][1]["timing"][0].update(started_at="yesterday"), "results[1].timing[0].started_at"),
        (lambda b: b["results"][1].update(failures=-1), "results[1].failures"),
    ],
)
def test_a_bad_dbt_artifact_names_the_field(change, field):
    body = dbt_passing()
    change(body)
    with pytest.raises(PipelineError) as refused:
        parse_run(body)
    assert refused.value.field == field


# --- Great Expectations ------------------------------------------------------------------------------


@pytest.mark.parametrize("v1", [False, True], ids=["0.x", "1.x"])
def test_a_great_expectations_validation_result(v1):
    body = ge_validation(
        ge_expectation("expect_column_values_to_not_be_null", "order_id", True, v1=v1),
        ge_expectation("expect_column_values_to_be_between", "amount", False, v1=v1),
        ge_expectation("expect_table_row_count_to_be_between", None, True, v1=v1),
        ge_expectation("expect_column_to_exist", "region", False, v1=v1, raised=True),
        v1=v1,
    )
    run = parse_run(body)
    assert (run.source, run.job, run.status) == ("great_expectations", "orders_suite", "errored")
    assert (run.passed, run.failed, run.errored) == (2, 1, 1)
    assert run.failures == ("expect_column_values_to_be_between(amount)", "expect_column_to_exist(region)")
    assert run.started_at == moment("2026-03-02T06:10:00+00:00")
    assert run.finished_at == moment("2026-03-02T06:10:02.500000+00:00")


def test_a_passing_validation_passes():
    run = parse_run(ge_validation(ge_expectation("expect_column_values_to_be_unique", "order_id", True)))
    assert (run.status, run.passed, run.failures) == ("passed", 1, ())


def test_a_checkpoint_result_sums_its_validations():
    body = ge_checkpoint(
        ge_validation(ge_expectation("expect_column_values_to_be_unique", "order_id", True)),
        ge_validation(ge_expectation("expect_column_values_to_not_be_null", "email", False), suite="customers_suite"),
    )
    run = parse_run(body)
    assert (run.job, run.status, run.passed, run.failed) == ("orders_checkpoint", "failed", 1, 1)
    assert run.failures == ("expect_column_values_to_not_be_null(email)",)
    assert run.external_id.startswith("orders_checkpoint:nightly")


def test_a_bad_expectation_names_its_place():
    body = ge_validation(ge_expectation("expect_column_values_to_be_unique", "id", True))
    body["results"][0]["expectation_config"].pop("expectation_type")
    with pytest.raises(PipelineError) as refused:
        parse_run(body)
    assert refused.value.field == "results[0].expectation_config.type"


# --- Airflow -----------------------------------------------------------------------------------------


def test_a_failed_dag_run_names_its_failed_tasks():
    run = parse_run(airflow_callback("failed", failed_tasks=["load_crm", "dbt_build"]))
    assert (run.source, run.job, run.status, run.failed, run.failures) == (
        "airflow", "crm_daily", "failed", 2, ("load_crm", "dbt_build")
    )  # fmt: skip
    assert run.external_id == "crm_daily/scheduled__2026-03-02T06:00:00+00:00"  # a run id is unique per DAG only
    assert run.url.startswith("https://airflow.example.com/")


def test_a_successful_and_a_running_dag_run():
    assert parse_run(airflow_callback("success")).status == "passed"
    running = parse_run(airflow_callback("running"))
    assert (running.status, running.finished_at) == ("running", None)


def test_a_dag_run_in_an_unknown_state_is_refused():
    with pytest.raises(PipelineError) as refused:
        parse_run(airflow_callback("exploded"))
    assert refused.value.field == "state"


# --- OpenLineage -------------------------------------------------------------------------------------


def test_openlineage_start_and_complete():
    start = parse_run(openlineage_event("START"))
    assert (start.source, start.status, start.job, start.namespace) == (
        "openlineage", "running", "crm_daily.load_crm", "airflow-prod"
    )  # fmt: skip
    assert start.started_at == moment("2026-03-02T06:00:00+00:00") and start.finished_at is None
    done = parse_run(openlineage_event("COMPLETE", at="2026-03-02T06:20:00Z"))
    assert (done.status, done.external_id, done.started_at) == ("passed", start.external_id, None)
    assert done.finished_at == moment("2026-03-02T06:20:00+00:00")


def test_openlineage_fail_names_the_job_and_keeps_the_error():
    run = parse_run(openlineage_event("FAIL", error="psycopg.errors.UndefinedTable: raw.crm_accounts"))
    assert (run.status, run.failures, run.failed) == ("failed", ("crm_daily.load_crm",), 1)
    assert "UndefinedTable" in run.message
    assert parse_run(openlineage_event("ABORT")).status == "aborted"


def test_openlineage_data_quality_assertions_are_the_tests():
    assertions = [
        {"assertion": "not_null", "success": True, "column": "account_id"},
        {"assertion": "unique", "success": False, "column": "account_id"},
        {"assertion": "row_count_above_zero", "success": True},
    ]
    run = parse_run(openlineage_event("COMPLETE", assertions=assertions))
    assert (run.status, run.passed, run.failed, run.failures) == (
        "failed", 2, 1, ("raw.crm_accounts: unique(account_id)",)
    )  # fmt: skip


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda b: b.update(eventType="FINISHED"), "eventType"),
        (lambda b: b["run"].pop("runId"), "run.runId"),
        (lambda b: b["job"].pop("namespace"), "job.namespace"),
        (lambda b: b.pop("eventTime"), "eventTime"),
        (lambda b: b.update(eventTime="soon"), "eventTime"),
        (lambda b: b.pop("producer"), "producer"),
        (
            lambda b: b.update(schemaURL="https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent"),
            "schemaURL",
        ),
    ],
)
def test_a_bad_openlineage_event_names_the_field(change, field):
    body = openlineage_event("COMPLETE")
    change(body)
    with pytest.raises(PipelineError) as refused:
        parse_run(body)
    assert refused.value.field == field


# --- Anything else -----------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [{}, {"status": "ok"}, {"results": []}, {"success": True}])
def test_an_unknown_shape_is_refused_as_such(body):
    with pytest.raises(PipelineError) as refused:
        parse_run(body)
    assert refused.value.code == "unknown_shape"


@pytest.mark.parametrize("body", [[], "run_results", 3, None])
def test_a_body_that_is_not_an_object_is_refused(body):
    with pytest.raises(PipelineError) as refused:
        parse_run(body)
    assert refused.value.code == "parse_error"


# --- Freshness ---------------------------------------------------------------------------------------

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("last", "expected", "state", "hours", "stale"),
    [
        (datetime(2026, 3, 2, 6, tzinfo=UTC), 24, "fresh", 6.0, False),
        (datetime(2026, 3, 1, 12, tzinfo=UTC), 24, "fresh", 24.0, False),  # exactly the interval: still fresh
        (datetime(2026, 3, 1, 11, tzinfo=UTC), 24, "stale", 25.0, True),
        (None, 24, "never", None, True),
        (None, None, "never", None, False),
        (datetime(2026, 2, 1, tzinfo=UTC), None, "unchecked", 708.0, False),
    ],
)
def test_freshness_against_the_expected_interval(last, expected, state, hours, stale):
    from sprintboard.pipelines import freshness

    result = freshness(last, expected_hours=expected, now=NOW)
    assert (result.state, result.hours_since, result.stale) == (state, hours, stale)
