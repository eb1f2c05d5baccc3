"""The chart renders, lints and produces valid Kubernetes objects."""

from __future__ import annotations

from functools import cache
from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest
from chart_rendering import CHART_DIR, CONFIGURED, VERIFY_EVENTS, Rendered, RenderFn

# The oldest Kubernetes the chart supports (Chart.yaml kubeVersion) and the
# newest kubernetes-validate ships schemas for.
KUBE_VERSIONS = ("1.29.0", kubernetes_validate.latest_version())
SEVERITY_WARNING = 2


@cache
def _chart_kube_floor() -> str:
    with helm.Chart.load(CHART_DIR) as chart:
        return str(chart.metadata["kubeVersion"])


def assert_valid_kubernetes(rendered: Rendered, version: str) -> None:
    errors = []
    for obj in rendered.objects:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            where = ".".join(str(p) for p in error.path)
            errors.append(f"{obj['kind']}/{obj['metadata']['name']}: {where}: {error.message}")
    assert not errors, "\n".join(errors)


def lint_problems(values: dict[str, Any] | None) -> list[str]:
    report = helm.lint(CHART_DIR, values, strict=True, namespace="team-data")
    problems = [f"{m['path']}: {m['error']}" for m in report["messages"] if m["severity"] >= SEVERITY_WARNING]
    return problems + list(report["errors"])


def test_chart_declares_the_kube_version_floor_tested() -> None:
    assert _chart_kube_floor() == f">={KUBE_VERSIONS[0]}-0"


@pytest.mark.parametrize("version", KUBE_VERSIONS)
def test_default_values_render_valid_kubernetes_objects(default_render: Rendered, version: str) -> None:
    assert_valid_kubernetes(default_render, version)


@pytest.mark.parametrize("version", KUBE_VERSIONS)
def test_production_values_render_valid_kubernetes_objects(production_render: Rendered, version: str) -> None:
    assert_valid_kubernetes(production_render, version)


@pytest.mark.parametrize("version", KUBE_VERSIONS)
def test_everything_switched_on_renders_valid_kubernetes_objects(render: RenderFn, version: str) -> None:
    rendered = render(
        {
            **CONFIGURED,
            "imagePullSecrets": [{"name": "regcred"}],
            "web": {"autoscaling": {"enabled": True, "targetMemoryUtilizationPercentage": 80}},
            "worker": {"autoscaling": {"enabled": True}, "pdb": {"minAvailable": "50%"}},
            "ingress": {"enabled": True, "hosts": ["a.example.com"], "tls": [{"secretName": "t"}]},
            "env": {"SPRINTBOARD_BOARD_POLL_MS": "3000", "DJANGO_SECURE_COOKIES": True},
            "secretEnv": {"DJANGO_EMAIL_HOST_PASSWORD": "mail"},
            "tmpVolume": {"medium": "Memory"},
            "networkPolicy": {"egress": {"extra": [{"ports": [{"port": 587}]}]}},
            "verifyEvents": {"enabled": True, "schedule": "@daily"},
        }
    )
    assert_valid_kubernetes(rendered, version)


def test_default_values_render_every_component(default_render: Rendered) -> None:
    kinds = sorted(default_render.keys())
    assert kinds == sorted(
        [
            ("ConfigMap", "sb-sprintboard"),
            ("ConfigMap", "sb-sprintboard-migrate"),
            ("Deployment", "sb-sprintboard-beat"),
            ("Deployment", "sb-sprintboard-web"),
            ("Deployment", "sb-sprintboard-worker"),
            ("Job", "sb-sprintboard-migrate"),
            ("NetworkPolicy", "sb-sprintboard-backend"),
            ("NetworkPolicy", "sb-sprintboard-web"),
            ("NetworkPolicy", "sb-sprintboard-webhooks"),
            ("PodDisruptionBudget", "sb-sprintboard-web"),
            ("PodDisruptionBudget", "sb-sprintboard-worker"),
            ("Pod", "sb-sprintboard-test"),
            ("Pod", "sb-sprintboard-test-verify-events"),
            ("Secret", "sb-sprintboard"),
            ("Secret", "sb-sprintboard-migrate"),
            ("Service", "sb-sprintboard-web"),
            ("ServiceAccount", "sb-sprintboard"),
            ("ServiceAccount", "sb-sprintboard-migrate"),
        ]
    )


def test_lint_passes_strictly_with_default_values() -> None:
    assert lint_problems(None) == []


def test_lint_passes_strictly_with_production_values(production_values: dict[str, Any]) -> None:
    assert lint_problems(production_values) == []


def test_lint_passes_strictly_with_the_event_check_on() -> None:
    assert lint_problems(VERIFY_EVENTS) == []


@pytest.mark.parametrize(
    "values, key",
    [
        ({"replicaCount": 3}, "replicaCount"),
        ({"web": {"replica": 3}}, "replica"),
        ({"worker": {"autoscaling": {"enable": True}}}, "enable"),
        ({"networkPolicy": {"egress": {"postgres": []}}}, "postgres"),
        ({"database": {"hostname": "pg"}}, "hostname"),
        ({"verifyEvents": {"enable": True}}, "enable"),
        ({"verifyEvents": {"shedule": "0 4 * * *"}}, "shedule"),
    ],
)
def test_schema_rejects_a_misspelt_key(render: RenderFn, values: dict[str, Any], key: str) -> None:
    with pytest.raises(helm.HelmValuesError, match=key):
        render(values)


@pytest.mark.parametrize(
    "values",
    [
        {"django": {"logFormat": "yaml"}},
        {"web": {"replicas": "two"}},
        {"database": {"url": "mysql://x"}},
        {"image": {"pullPolicy": "Sometimes"}},
        {"verifyEvents": {"schedule": "daily"}},
        {"verifyEvents": {"schedule": "0 4 * *"}},
    ],
)
def test_schema_rejects_a_bad_value(render: RenderFn, values: dict[str, Any]) -> None:
    with pytest.raises(helm.HelmValuesError):
        render(values)


def test_lint_reports_a_misspelt_key() -> None:
    assert any("replicaCount" in problem for problem in lint_problems({"replicaCount": 3}))


def test_notes_tell_how_to_reach_the_app_and_create_the_first_admin(
    default_render: Rendered, production_render: Rendered
) -> None:
    assert "port-forward service/sb-sprintboard-web" in default_render.notes
    assert (
        "kubectl --namespace team-data exec -it deployment/sb-sprintboard-web -- python manage.py createsuperuser"
    ) in default_render.notes
    assert "https://sprintboard.example.com/" in production_render.notes
    assert "createsuperuser" in production_render.notes


def test_notes_warn_when_no_database_or_redis_is_configured(
    default_render: Rendered, configured_render: Rendered, production_render: Rendered
) -> None:
    assert "no database is configured" in default_render.notes
    assert "no Redis is configured" in default_render.notes
    for rendered in (configured_render, production_render):
        assert "WARNING" not in rendered.notes
