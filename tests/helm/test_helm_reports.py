"""The worker takes both report queues, and the bounds of report computations reach every pod."""

from __future__ import annotations

import helm_python as helm
import pytest
from chart_rendering import CONFIGURED, Rendered, RenderFn, deep_merge, pod_spec
from django.conf import settings


def worker_args(rendered: Rendered) -> list[str]:
    (container,) = pod_spec(rendered.component("Deployment", "worker"))["containers"]
    return container["args"]


def test_the_worker_takes_every_queue_the_app_sends_to(configured_render: Rendered) -> None:
    args = worker_args(configured_render)
    queues = args[args.index("--queues") + 1].split(",")
    assert sorted(queues) == sorted(settings.CELERY_TASK_QUEUES)
    assert settings.CELERY_TASK_DEFAULT_QUEUE in queues
    assert {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()} <= set(queues)


def test_the_worker_queues_can_be_narrowed_but_not_misspelt(render: RenderFn) -> None:
    args = worker_args(render(deep_merge(CONFIGURED, {"worker": {"queues": ["reports"]}})))
    assert args[args.index("--queues") + 1] == "reports"
    with pytest.raises(helm.HelmValuesError):
        render(deep_merge(CONFIGURED, {"worker": {"queues": ["celery"]}}))
    with pytest.raises(helm.HelmValuesError):
        render(deep_merge(CONFIGURED, {"worker": {"queues": []}}))


def test_the_report_bounds_reach_every_pod(render: RenderFn) -> None:
    bounds = {
        "maxPendingPerUser": 3,
        "maxPendingPerProject": 12,
        "stuckMarginSeconds": 30,
        "queuedExpirySeconds": 7200,
        "unusedDays": 30,
        "maxMemoryMb": 512,
    }
    data = render(deep_merge(CONFIGURED, {"reports": bounds})).get("ConfigMap", "sb-sprintboard")["data"]
    assert data["SPRINTBOARD_REPORTS_MAX_PENDING_PER_USER"] == "3"
    assert data["SPRINTBOARD_REPORTS_MAX_PENDING_PER_PROJECT"] == "12"
    assert data["SPRINTBOARD_REPORTS_STUCK_MARGIN_SECONDS"] == "30"
    assert data["SPRINTBOARD_REPORTS_QUEUED_EXPIRY_SECONDS"] == "7200"
    assert data["SPRINTBOARD_REPORTS_UNUSED_DAYS"] == "30"
    assert data["SPRINTBOARD_REPORT_MAX_MEMORY_MB"] == "512"
    with pytest.raises(helm.HelmValuesError):
        render(deep_merge(CONFIGURED, {"reports": {"maxPendingPerUser": 0}}))
    with pytest.raises(helm.HelmValuesError):
        render(deep_merge(CONFIGURED, {"reports": {"maxMemoryMb": -1}}))
