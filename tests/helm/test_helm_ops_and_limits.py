"""Readiness and metrics stay off the Ingress (a port of their own); the metrics token and the
brute-force limits reach the pods."""

from __future__ import annotations

from typing import Any

import helm_python as helm
import pytest
from chart_rendering import CONFIGURED, Rendered, RenderFn, deep_merge, pod_annotations, pod_spec, secret_values

INGRESS = {"ingress": {"enabled": True, "hosts": ["sprintboard.example.com"]}}


def web_container(rendered: Rendered) -> dict[str, Any]:
    (only,) = pod_spec(rendered.component("Deployment", "web"))["containers"]
    return only


@pytest.fixture
def with_ingress(render: RenderFn) -> Rendered:
    return render(deep_merge(CONFIGURED, INGRESS))


def test_the_ingress_routes_only_to_the_port_without_readiness_and_metrics(with_ingress: Rendered) -> None:
    ingress = with_ingress.component("Ingress", "web")
    backends = [path["backend"] for rule in ingress["spec"]["rules"] for path in rule["http"]["paths"]]
    assert backends == [{"service": {"name": "sb-sprintboard-web", "port": {"name": "http"}}}]
    ports = {port["name"]: port for port in with_ingress.get("Service", "sb-sprintboard-web")["spec"]["ports"]}
    assert ports["http"]["targetPort"] == "http" and ports["ops"]["targetPort"] == "ops"
    container = web_container(with_ingress)
    by_name = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert by_name == {"http": 8000, "ops": 9000}
    env = {item["name"]: item["value"] for item in container["env"]}
    # The app answers /readyz and /metrics only on SPRINTBOARD_OPS_PORT, which gunicorn.conf.py also binds
    # (tests/deploy runs the chart's command and checks both ports answer).
    assert env["SPRINTBOARD_OPS_PORT"] == "9000"
    assert container["args"] == ["gunicorn", "config.wsgi:application"]
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "ops"}


def test_prometheus_is_pointed_at_the_ops_port(with_ingress: Rendered) -> None:
    annotations = pod_annotations(with_ingress.component("Deployment", "web"))
    assert annotations["prometheus.io/port"] == "9000" and annotations["prometheus.io/path"] == "/metrics"


def test_the_ops_port_can_be_moved(render: RenderFn) -> None:
    rendered = render(deep_merge(CONFIGURED, {"web": {"opsPort": 9100}}))
    container = web_container(rendered)
    assert {"name": "ops", "containerPort": 9100, "protocol": "TCP"} in container["ports"]
    assert {item["name"]: item["value"] for item in container["env"]}["SPRINTBOARD_OPS_PORT"] == "9100"


def test_the_ops_port_cannot_be_the_app_port(render: RenderFn) -> None:
    with pytest.raises(helm.HelmValuesError):
        render(deep_merge(CONFIGURED, {"web": {"opsPort": 8000}}))


def test_helm_test_checks_readiness_on_the_ops_port_and_its_absence_on_the_app_port(default_render: Rendered) -> None:
    (check,) = pod_spec(default_render.get("Pod", "sb-sprintboard-test"))["containers"]
    script = check["command"][-1]
    assert '"http://sb-sprintboard-web:9000" + "/readyz"' in script
    assert '("/readyz", "/metrics")' in script and "404" in script


def test_the_metrics_token_goes_into_the_secret_only_when_set(configured_render: Rendered, render: RenderFn) -> None:
    assert "SPRINTBOARD_METRICS_TOKEN" not in secret_values(configured_render.get("Secret", "sb-sprintboard"))
    rendered = render(deep_merge(CONFIGURED, {"metrics": {"token": "scrape-me"}}))
    assert secret_values(rendered.get("Secret", "sb-sprintboard"))["SPRINTBOARD_METRICS_TOKEN"] == "scrape-me"
    assert "scrape-me" not in str(rendered.get("ConfigMap", "sb-sprintboard"))


def test_limits_reach_every_pod(render: RenderFn) -> None:
    limits = {
        "loginFailureLimit": 10,
        "loginCooloffMinutes": 30,
        "apiRateUser": "600/minute",
        "apiRateAddress": "50/second",
        "apiRateTokenFailures": "5/minute",
        "tokenTtlDays": 90,
        "passwordChangeRevokesTokens": True,
    }
    data = render(deep_merge(CONFIGURED, {"security": limits})).get("ConfigMap", "sb-sprintboard")["data"]
    assert data["SPRINTBOARD_LOGIN_FAILURE_LIMIT"] == "10"
    assert data["SPRINTBOARD_LOGIN_COOLOFF_MINUTES"] == "30"
    assert data["SPRINTBOARD_API_RATE_USER"] == "600/minute"
    assert data["SPRINTBOARD_API_RATE_ADDRESS"] == "50/second"
    assert data["SPRINTBOARD_API_RATE_TOKEN_FAILURES"] == "5/minute"
    assert data["SPRINTBOARD_TOKEN_TTL_DAYS"] == "90"
    assert data["SPRINTBOARD_PASSWORD_CHANGE_REVOKES_TOKENS"] == "true"


@pytest.mark.parametrize(
    ("values", "proxies"),
    [
        ({}, "0"),
        (INGRESS, "1"),
        (deep_merge(INGRESS, {"security": {"numProxies": 2}}), "2"),
        (deep_merge(INGRESS, {"security": {"numProxies": 0}}), "0"),
    ],
)
def test_the_ingress_controller_counts_as_one_proxy_unless_told(
    render: RenderFn, values: dict[str, Any], proxies: str
) -> None:
    data = render(deep_merge(CONFIGURED, values)).get("ConfigMap", "sb-sprintboard")["data"]
    assert data["SPRINTBOARD_NUM_PROXIES"] == proxies


@pytest.mark.parametrize(
    ("values", "trusted"),
    [
        ({}, "false"),
        (INGRESS, "true"),
        (deep_merge(INGRESS, {"security": {"trustForwardedProto": False}}), "false"),
        ({"security": {"trustForwardedProto": True}}, "true"),
    ],
)
def test_x_forwarded_proto_is_trusted_behind_the_ingress_unless_told(
    render: RenderFn, values: dict[str, Any], trusted: str
) -> None:
    data = render(deep_merge(CONFIGURED, values)).get("ConfigMap", "sb-sprintboard")["data"]
    assert data["SPRINTBOARD_TRUST_X_FORWARDED_PROTO"] == trusted


def test_hsts_and_markdown_image_hosts_reach_the_pods(render: RenderFn) -> None:
    values = {"django": {"hstsSeconds": 0}, "security": {"markdownImageHosts": ["img.example.com", "cdn.example.com"]}}
    data = render(deep_merge(CONFIGURED, values)).get("ConfigMap", "sb-sprintboard")["data"]
    assert data["DJANGO_HSTS_SECONDS"] == "0"
    assert data["SPRINTBOARD_MARKDOWN_IMAGE_HOSTS"] == "img.example.com,cdn.example.com"


@pytest.mark.parametrize("host", ["https://img.example.com", "img.example.com/path", "IMG.example.com"])
def test_the_schema_rejects_an_image_host_that_is_not_a_host_name(render: RenderFn, host: str) -> None:
    with pytest.raises(helm.HelmValuesError):
        render(deep_merge(CONFIGURED, {"security": {"markdownImageHosts": [host]}}))


@pytest.mark.parametrize("rate", ["lots", "10/fortnight", "/minute", 5])
def test_the_schema_rejects_a_rate_django_rest_framework_cannot_read(render: RenderFn, rate: Any) -> None:
    with pytest.raises(helm.HelmValuesError):
        render(deep_merge(CONFIGURED, {"security": {"apiRateUser": rate}}))
