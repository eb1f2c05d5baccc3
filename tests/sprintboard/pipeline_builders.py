"""Bodies shaped exactly as the tools write them, built here (no recorded fixtures).

- dbt ``run_results.json``: schemas.getdbt.com/dbt/run-results/v4..v6.json (RunResultsArtifact: metadata,
  results[] of RunResultOutput with status, timing[], thread_id, execution_time, adapter_response, message,
  failures, unique_id; elapsed_time; args).
- Great Expectations: ExpectationSuiteValidationResult.to_json_dict() (success, results[] of
  ExpectationValidationResult with expectation_config, result, meta, exception_info; statistics; meta) in the
  0.x form (expectation_type, meta.expectation_suite_name) and the 1.x form (type, suite_name, id); and the
  CheckpointResult.to_json_dict() of 0.x (run_id, run_results {identifier: {validation_result, actions_results}},
  checkpoint_config, success).
- Airflow: the DAG-run callback body documented in README (dag_id, run_id, state, start_date, end_date, failed_tasks).
- OpenLineage: a RunEvent of spec 2-0-2 (eventType, eventTime, run, job, inputs, outputs, producer, schemaURL).
"""

from __future__ import annotations

import uuid
from typing import Any

PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/1.24.2/integration/airflow"
RUN_EVENT_SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"


def dbt_result(unique_id: str, status: str, *, failures: int | None = None, message: str | None = None) -> dict:
    return {
        "status": status,
        "timing": [
            {
                "name": "compile",
                "started_at": "2026-03-02T06:00:01.100000Z",
                "completed_at": "2026-03-02T06:00:01.300000Z",
            },
            {
                "name": "execute",
                "started_at": "2026-03-02T06:00:01.300000Z",
                "completed_at": "2026-03-02T06:00:04.900000Z",
            },
        ],
        "thread_id": "Thread-1 (worker)",
        "execution_time": 3.8,
        "adapter_response": {"_message": "SELECT 1", "code": "SELECT", "rows_affected": 1},
        "message": message,
        "failures": failures,
        "unique_id": unique_id,
        "compiled": True,
        "compiled_code": "select 1",
        "relation_name": None,
    }


def dbt_run_results(
    *results: dict, version: int = 5, invocation_id: str = "b2c1e3a4-6f0d-4d8e-9c57-1f1f0c1a2b3c"
) -> dict:
    return {
        "metadata": {
            "dbt_schema_version": f"https://schemas.getdbt.com/dbt/run-results/v{version}.json",
            "dbt_version": "1.7.4",
            "generated_at": "2026-03-02T06:00:05.000000Z",
            "invocation_id": invocation_id,
            "env": {},
        },
        "results": list(results),
        "elapsed_time": 4.1,
        "args": {"which": "build", "select": [], "target": "prod"},
    }


def dbt_passing() -> dict:
    return dbt_run_results(
        dbt_result("model.jaffle_shop.orders", "success", message="SELECT 99"),
        dbt_result("test.jaffle_shop.not_null_orders_order_id.cf6c17daed", "pass", failures=0),
        dbt_result("test.jaffle_shop.unique_orders_order_id.fed79b3a6e", "pass", failures=0),
    )


def dbt_failing() -> dict:
    return dbt_run_results(
        dbt_result("model.jaffle_shop.orders", "success", message="SELECT 99"),
        dbt_result("test.jaffle_shop.not_null_orders_order_id.cf6c17daed", "pass", failures=0),
        dbt_result(
            "test.jaffle_shop.unique_orders_order_id.fed79b3a6e",
            "fail",
            failures=3,
            message="Got 3 results, configured to fail if != 0",
        ),
        dbt_result(
            "test.jaffle_shop.accepted_values_orders_status.be6b5b5ec3", "warn", failures=1, message="Got 1 result"
        ),
        invocation_id="0a7d3c52-9a1e-4f53-8f7e-3e7c1d9e2b10",
    )


def ge_expectation(kind: str, column: str | None, success: bool, *, v1: bool = False, raised: bool = False) -> dict:
    kwargs: dict[str, Any] = {"batch_id": "pandas-orders"}
    if column:
        kwargs["column"] = column
    config = (
        {"type": kind, "kwargs": kwargs, "meta": {}} if v1 else {"expectation_type": kind, "kwargs": kwargs, "meta": {}}
    )
    if v1:
        config["id"] = str(uuid.uuid4())
    return {
        "success": success,
        "expectation_config": config,
        "result": {
            "element_count": 99,
            "unexpected_count": 0 if success else 3,
            "unexpected_percent": 0.0 if success else 3.03,
        },
        "meta": {},
        "exception_info": {
            "raised_exception": raised,
            "exception_traceback": "Traceback ..." if raised else None,
            "exception_message": "column missing" if raised else None,
        },
    }


def ge_validation(*results: dict, v1: bool = False, suite: str = "orders_suite") -> dict:
    good = sum(1 for r in results if r["success"])
    body: dict[str, Any] = {
        "success": all(r["success"] for r in results),
        "results": list(results),
        "statistics": {
            "evaluated_expectations": len(results),
            "successful_expectations": good,
            "unsuccessful_expectations": len(results) - good,
            "success_percent": 100.0 * good / len(results) if results else None,
        },
        "meta": {
            "great_expectations_version": "1.3.5" if v1 else "0.18.19",
            "expectation_suite_name": suite,
            "run_id": {"run_name": "nightly", "run_time": "2026-03-02T06:10:00.000000+00:00"},
            "batch_spec": {"path": "orders.csv"},
            "batch_markers": {"ge_load_time": "20260302T061000.100000Z"},
            "active_batch_definition": {"datasource_name": "pandas", "data_asset_name": "orders"},
            "validation_time": "20260302T061002.500000Z",
            "checkpoint_name": "orders_checkpoint",
        },
    }
    if v1:
        body["suite_name"] = suite
        body["id"] = "8d5a8f0c-52a8-4b0c-bf8b-0f6f4c7b1a11"
        body["suite_parameters"] = {}
    else:
        body["evaluation_parameters"] = {}
    return body


def ge_checkpoint(*validations: dict, name: str = "orders_checkpoint") -> dict:
    run_results = {
        f"ValidationResultIdentifier::{v['meta']['expectation_suite_name']}/nightly/20260302T061000.000000Z/{i}": {
            "validation_result": v,
            "actions_results": {"store_validation_result": {"class": "StoreValidationResultAction"}},
        }
        for i, v in enumerate(validations)
    }
    return {
        "run_id": {"run_name": "nightly", "run_time": "2026-03-02T06:10:00.000000+00:00"},
        "run_results": run_results,
        "checkpoint_config": {"name": name, "config_version": 1.0, "class_name": "Checkpoint", "action_list": []},
        "success": all(v["success"] for v in validations),
    }


def airflow_callback(state: str, *, failed_tasks: list[str] | None = None, dag_id: str = "crm_daily") -> dict:
    return {
        "dag_id": dag_id,
        "run_id": "scheduled__2026-03-02T06:00:00+00:00",
        "state": state,
        "start_date": "2026-03-02T06:00:03.120000+00:00",
        "end_date": "2026-03-02T06:21:44.870000+00:00" if state in ("success", "failed") else None,
        "failed_tasks": failed_tasks or [],
        "url": "https://airflow.example.com/dags/crm_daily/grid?dag_run_id=scheduled__2026-03-02T06%3A00%3A00%2B00%3A00",
    }


def openlineage_event(
    event_type: str,
    *,
    run_id: str = "01908f4c-4a7b-7d3e-9b1e-2f3a4b5c6d7e",
    at: str = "2026-03-02T06:00:00.000Z",
    job: str = "crm_daily.load_crm",
    assertions: list[dict] | None = None,
    error: str | None = None,
) -> dict:
    facets: dict[str, Any] = {}
    if error:
        facets["errorMessage"] = {
            "_producer": PRODUCER,
            "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet",
            "message": error,
            "programmingLanguage": "python",
        }
    inputs = [{"namespace": "postgres://warehouse:5432", "name": "raw.crm_accounts", "facets": {}}]
    if assertions is not None:
        inputs[0]["inputFacets"] = {
            "dataQualityAssertions": {
                "_producer": PRODUCER,
                "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/DataQualityAssertionsDatasetFacet.json"
                "#/$defs/DataQualityAssertionsDatasetFacet",
                "assertions": assertions,
            }
        }
    return {
        "eventType": event_type,
        "eventTime": at,
        "run": {"runId": run_id, "facets": facets},
        "job": {"namespace": "airflow-prod", "name": job, "facets": {}},
        "inputs": inputs,
        "outputs": [{"namespace": "postgres://warehouse:5432", "name": "analytics.crm_accounts", "facets": {}}],
        "producer": PRODUCER,
        "schemaURL": RUN_EVENT_SCHEMA,
    }
