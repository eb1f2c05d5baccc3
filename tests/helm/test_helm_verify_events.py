"""The opt-in event-log check: a CronJob and a `helm test` pod running `manage.py verify_events`."""

from __future__ import annotations

from typing import Any

import helm_python as helm
import pytest
from chart_rendering import (
    VERIFY_EVENTS,
    Rendered,
    RenderFn,
    deep_merge,
    pod_annotations,
    pod_spec,
    pod_template,
)

COMMAND = ["python", "manage.py", "verify_events"]
COMPONENT = "app.kubernetes.io/component"


def container(obj: dict[str, Any]) -> dict[str, Any]:
    (only,) = pod_spec(obj)["containers"]
    return only


def cronjob(rendered: Rendered) -> dict[str, Any]:
    return rendered.component("CronJob", "verify-events")


def test_the_cronjob_is_off_by_default_but_helm_test_still_verifies(default_render: Rendered) -> None:
    assert default_render.of_kind("CronJob") == []
    assert "sb-sprintboard-test-verify-events" in default_render.names("Pod")


def test_enabled_it_runs_verify_events_daily_in_the_small_hours(verify_events_render: Rendered) -> None:
    job = cronjob(verify_events_render)
    assert job["spec"]["schedule"] == "17 3 * * *"
    # `args`, not `command`: the image's entrypoint stays in front, as for every role.
    assert container(job)["args"] == COMMAND
    assert "command" not in container(job)


def test_the_schedule_and_history_can_be_set(render: RenderFn) -> None:
    rendered = render(
        deep_merge(
            VERIFY_EVENTS,
            {
                "verifyEvents": {
                    "schedule": "0 */6 * * *",
                    "successfulJobsHistoryLimit": 2,
                    "failedJobsHistoryLimit": 5,
                    "activeDeadlineSeconds": 600,
                }
            },
        )
    )
    spec = cronjob(rendered)["spec"]
    assert spec["schedule"] == "0 */6 * * *"
    assert (spec["successfulJobsHistoryLimit"], spec["failedJobsHistoryLimit"]) == (2, 5)
    assert spec["jobTemplate"]["spec"]["activeDeadlineSeconds"] == 600


def test_a_mismatch_is_a_failed_job_never_retried(verify_events_render: Rendered) -> None:
    spec = cronjob(verify_events_render)["spec"]
    assert spec["concurrencyPolicy"] == "Forbid"
    job = spec["jobTemplate"]["spec"]
    assert job["backoffLimit"] == 0
    assert job["activeDeadlineSeconds"] == 3600
    assert pod_spec(cronjob(verify_events_render))["restartPolicy"] == "Never"
    assert spec["failedJobsHistoryLimit"] >= 1


def test_only_a_disrupted_pod_is_run_again(verify_events_render: Rendered) -> None:
    # A node drain is not a mismatch; every exit code still fails the Job.
    (rule,) = cronjob(verify_events_render)["spec"]["jobTemplate"]["spec"]["podFailurePolicy"]["rules"]
    assert rule == {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]}


def test_it_runs_like_the_worker(verify_events_render: Rendered) -> None:
    """Same image, environment, service account, security and /tmp as the worker."""
    worker = verify_events_render.component("Deployment", "worker")
    for obj in (cronjob(verify_events_render), verify_events_render.get("Pod", "sb-sprintboard-test-verify-events")):
        name = obj["metadata"]["name"]
        for key in ("image", "imagePullPolicy", "envFrom", "securityContext", "volumeMounts"):
            assert container(obj)[key] == container(worker)[key], (name, key)
        for key in ("serviceAccountName", "automountServiceAccountToken", "securityContext", "volumes"):
            assert pod_spec(obj)[key] == pod_spec(worker)[key], (name, key)


def test_it_reads_the_release_configmap_and_secret(verify_events_render: Rendered, render: RenderFn) -> None:
    assert container(cronjob(verify_events_render))["envFrom"] == [
        {"configMapRef": {"name": "sb-sprintboard"}},
        {"secretRef": {"name": "sb-sprintboard"}},
    ]
    rendered = render({"existingSecret": "sprintboard-env", "verifyEvents": {"enabled": True}})
    for obj in (cronjob(rendered), rendered.get("Pod", "sb-sprintboard-test-verify-events")):
        assert container(obj)["envFrom"][1] == {"secretRef": {"name": "sprintboard-env"}}


def test_its_pods_are_locked_down(verify_events_render: Rendered) -> None:
    for obj in (cronjob(verify_events_render), verify_events_render.get("Pod", "sb-sprintboard-test-verify-events")):
        name = obj["metadata"]["name"]
        pod_security = pod_spec(obj)["securityContext"]
        assert pod_security["runAsNonRoot"] is True, name
        assert pod_security["seccompProfile"] == {"type": "RuntimeDefault"}, name
        security = container(obj)["securityContext"]
        assert security["readOnlyRootFilesystem"] is True, name
        assert security["allowPrivilegeEscalation"] is False, name
        assert security["capabilities"] == {"drop": ["ALL"]}, name
        assert container(obj)["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}], name
        assert pod_spec(obj)["volumes"][0]["emptyDir"] == {"sizeLimit": "256Mi"}, name


def test_its_resources_and_scheduling_are_its_own(render: RenderFn) -> None:
    rendered = render(
        deep_merge(
            VERIFY_EVENTS,
            {
                "nodeSelector": {"pool": "general"},
                "verifyEvents": {
                    "resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"memory": "2Gi"}},
                    "nodeSelector": {"pool": "batch"},
                },
            },
        )
    )
    job = cronjob(rendered)
    assert container(job)["resources"] == {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"memory": "2Gi"}}
    assert pod_spec(job)["nodeSelector"] == {"pool": "batch"}
    assert pod_spec(rendered.component("Deployment", "worker"))["nodeSelector"] == {"pool": "general"}


def test_its_pods_carry_the_release_pod_labels_and_annotations(render: RenderFn) -> None:
    rendered = render(deep_merge(VERIFY_EVENTS, {"podLabels": {"team": "data"}, "podAnnotations": {"a": "b"}}))
    job = cronjob(rendered)
    assert pod_template(job)["metadata"]["labels"]["team"] == "data"
    assert pod_annotations(job)["a"] == "b"
    assert "checksum/config" in pod_annotations(job)
    pod = rendered.get("Pod", "sb-sprintboard-test-verify-events")
    assert pod["metadata"]["labels"]["team"] == "data"
    assert pod["metadata"]["annotations"]["a"] == "b"


def test_helm_test_runs_verify_events_too(verify_events_render: Rendered) -> None:
    pod = verify_events_render.get("Pod", "sb-sprintboard-test-verify-events")
    annotations = pod["metadata"]["annotations"]
    assert annotations["helm.sh/hook"] == "test"
    # Kept when it fails, so its log (the mismatches) can be read.
    assert annotations["helm.sh/hook-delete-policy"] == "before-hook-creation,hook-succeeded"
    assert container(pod)["args"] == COMMAND
    assert "command" not in container(pod)
    assert pod["spec"]["restartPolicy"] == "Never"
    assert pod["spec"]["activeDeadlineSeconds"] == 3600
    # The health check pod is still there.
    assert "sb-sprintboard-test" in verify_events_render.names("Pod")


def test_helm_test_runs_no_verify_events_when_tests_are_off(render: RenderFn) -> None:
    assert "sb-sprintboard-test-verify-events" not in render(
        deep_merge(VERIFY_EVENTS, {"tests": {"enabled": False}})
    ).names("Pod")


def test_its_pods_accept_no_traffic_and_reach_only_the_backends(verify_events_render: Rendered) -> None:
    backend = verify_events_render.component("NetworkPolicy", "backend")["spec"]["podSelector"]
    (expression,) = backend["matchExpressions"]
    for labels in (
        pod_template(cronjob(verify_events_render))["metadata"]["labels"],
        verify_events_render.get("Pod", "sb-sprintboard-test-verify-events")["metadata"]["labels"],
    ):
        assert backend["matchLabels"].items() <= labels.items()
        assert labels[COMPONENT] in expression["values"]


def test_the_cronjob_name_leaves_room_for_its_jobs(render: RenderFn) -> None:
    # Kubernetes refuses CronJob names over 52 characters: the Jobs' names add 11.
    first, second = (render(VERIFY_EVENTS, release=name) for name in ("x" * 52 + "a", "x" * 52 + "b"))
    names = [next(iter(rendered.names("CronJob"))) for rendered in (first, second)]
    assert all(len(name) <= 52 for name in names), names
    assert names[0] != names[1]
    assert render(VERIFY_EVENTS, release="sprintboard").names("CronJob") == {"sprintboard-verify-events"}


def test_the_schema_refuses_a_misspelt_key_or_schedule(render: RenderFn) -> None:
    with pytest.raises(helm.HelmValuesError, match="concurrencyPolicy"):
        render(deep_merge(VERIFY_EVENTS, {"verifyEvents": {"concurrencyPolicy": "Allow"}}))
    with pytest.raises(helm.HelmValuesError, match="schedule"):
        render(deep_merge(VERIFY_EVENTS, {"verifyEvents": {"schedule": "nightly"}}))


def test_notes_say_where_to_see_the_results(default_render: Rendered, verify_events_render: Rendered) -> None:
    assert "verify-events" not in default_render.notes
    assert "app.kubernetes.io/component=verify-events" in verify_events_render.notes
