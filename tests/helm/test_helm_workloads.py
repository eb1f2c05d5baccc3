"""Web, worker, beat and the migrations hook: commands, probes, security, scaling."""

from __future__ import annotations

from typing import Any

import helm_python as helm
import pytest
from chart_rendering import (
    CONFIGURED,
    Rendered,
    RenderFn,
    deep_merge,
    pod_spec,
)

HOOK = "helm.sh/hook"
HOOK_WEIGHT = "helm.sh/hook-weight"
HOOK_DELETE = "helm.sh/hook-delete-policy"


def container(obj: dict[str, Any]) -> dict[str, Any]:
    (only,) = pod_spec(obj)["containers"]
    return only


# Probes -------------------------------------------------------------------


def test_web_starts_and_lives_on_healthz_and_is_ready_on_readyz(
    configured_render: Rendered,
) -> None:
    web = container(configured_render.component("Deployment", "web"))
    assert web["ports"] == [
        {"name": "http", "containerPort": 8000, "protocol": "TCP"},
        {"name": "ops", "containerPort": 9000, "protocol": "TCP"},
    ]
    for probe, path, port in (
        ("startupProbe", "/healthz", "http"),
        ("livenessProbe", "/healthz", "http"),
        ("readinessProbe", "/readyz", "ops"),  # answered only on the ops port
    ):
        assert web[probe]["httpGet"] == {"path": path, "port": port}, probe
        assert web[probe]["timeoutSeconds"] >= 1


def test_web_startup_probe_allows_a_slow_boot_before_liveness_applies(
    configured_render: Rendered,
) -> None:
    startup = container(configured_render.component("Deployment", "web"))["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 60


def test_worker_liveness_pings_its_own_celery_node(configured_render: Rendered) -> None:
    worker = container(configured_render.component("Deployment", "worker"))
    command = worker["livenessProbe"]["exec"]["command"]
    assert command[:2] == ["sh", "-c"]
    assert "celery -A config inspect ping" in command[2]
    assert '--destination "celery@${HOSTNAME}"' in command[2]
    # Through the broker, so it must not restart workers over a short Redis blip.
    probe = worker["livenessProbe"]
    assert probe["periodSeconds"] * probe["failureThreshold"] >= 180
    assert probe["timeoutSeconds"] > 10


def test_probe_timings_can_be_tuned_without_losing_the_path(render: RenderFn) -> None:
    rendered = render(deep_merge(CONFIGURED, {"web": {"readinessProbe": {"periodSeconds": 3}}}))
    readiness = container(rendered.component("Deployment", "web"))["readinessProbe"]
    assert readiness["periodSeconds"] == 3
    assert readiness["httpGet"]["path"] == "/readyz"


# Commands -----------------------------------------------------------------


def test_each_role_runs_the_agreed_command(configured_render: Rendered) -> None:
    args = {
        component: container(configured_render.component(kind, component))["args"]
        for kind, component in (
            ("Deployment", "web"),
            ("Deployment", "worker"),
            ("Deployment", "beat"),
            ("Job", "migrate"),
        )
    }
    assert args["web"] == ["gunicorn", "config.wsgi:application"]  # the rest is in gunicorn.conf.py only
    assert args["worker"] == [
        "celery", "-A", "config", "worker", "--loglevel", "INFO", "--concurrency", "2",
        "--queues", "reports,nightly",
    ]  # fmt: skip
    assert args["beat"] == [
        "celery", "-A", "config", "beat", "--loglevel", "INFO",
        "--schedule", "/tmp/celerybeat-schedule",
    ]  # fmt: skip
    assert args["migrate"] == ["python", "manage.py", "migrate", "--noinput"]


def test_roles_keep_the_image_entrypoint(configured_render: Rendered) -> None:
    # `command` would bypass docker/entrypoint.sh, which prepares /tmp/prometheus.
    for obj in configured_render.workloads():
        if obj["kind"] != "Pod":
            assert "command" not in container(obj), obj["metadata"]["name"]


def test_web_sets_its_concurrency_and_prometheus_directory(configured_render: Rendered) -> None:
    env = {e["name"]: e["value"] for e in container(configured_render.component("Deployment", "web"))["env"]}
    assert env == {
        "WEB_CONCURRENCY": "2",
        "PROMETHEUS_MULTIPROC_DIR": "/tmp/prometheus",
        "SPRINTBOARD_OPS_PORT": "9000",
    }


def test_every_role_runs_the_same_image(production_render: Rendered) -> None:
    images = {container(obj)["image"] for obj in production_render.workloads()}
    assert images == {"ghcr.io/sprintboard/sprintboard:0.1.0"}


def test_an_image_digest_wins_over_the_tag(render: RenderFn) -> None:
    digest = "sha256:" + "a" * 64
    rendered = render(deep_merge(CONFIGURED, {"image": {"digest": digest}}))
    images = {container(obj)["image"] for obj in rendered.workloads()}
    assert images == {f"ghcr.io/sprintboard/sprintboard@{digest}"}


# Security -----------------------------------------------------------------


@pytest.mark.parametrize(
    "which, workloads",
    [("default_render", 6), ("production_render", 6), ("verify_events_render", 7)],
)
def test_every_pod_runs_locked_down(which: str, workloads: int, request: pytest.FixtureRequest) -> None:
    rendered: Rendered = request.getfixturevalue(which)
    assert len(rendered.workloads()) == workloads
    for obj in rendered.workloads():
        name = obj["metadata"]["name"]
        spec = pod_spec(obj)
        assert spec["automountServiceAccountToken"] is False, name
        pod_security = spec["securityContext"]
        assert pod_security["runAsNonRoot"] is True, name
        assert pod_security["runAsUser"] == 10001, name
        assert pod_security["seccompProfile"] == {"type": "RuntimeDefault"}, name
        security = container(obj)["securityContext"]
        assert security["readOnlyRootFilesystem"] is True, name
        assert security["allowPrivilegeEscalation"] is False, name
        assert security["capabilities"] == {"drop": ["ALL"]}, name
        assert security["runAsNonRoot"] is True, name
        assert container(obj)["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}], name
        (tmp,) = spec["volumes"]
        assert tmp["name"] == "tmp" and "emptyDir" in tmp, name


def test_service_accounts_do_not_mount_api_tokens(default_render: Rendered) -> None:
    accounts = default_render.of_kind("ServiceAccount")
    assert accounts
    assert all(sa["automountServiceAccountToken"] is False for sa in accounts)


def test_every_container_requests_resources_and_limits_memory(
    production_render: Rendered,
) -> None:
    for obj in production_render.workloads():
        resources = container(obj)["resources"]
        assert {"cpu", "memory"} <= set(resources["requests"]), obj["metadata"]["name"]
        assert "memory" in resources["limits"], obj["metadata"]["name"]


def test_existing_service_account_is_used_and_none_is_created(render: RenderFn) -> None:
    rendered = render(deep_merge(CONFIGURED, {"serviceAccount": {"create": False, "name": "shared-sa"}}))
    assert rendered.of_kind("ServiceAccount") == []
    for obj in rendered.workloads():
        if obj["kind"] != "Pod":
            assert pod_spec(obj)["serviceAccountName"] == "shared-sa"


# Beat ---------------------------------------------------------------------


def test_beat_is_a_single_replica_replaced_not_rolled(configured_render: Rendered) -> None:
    beat = configured_render.component("Deployment", "beat")
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}


def test_rendering_fails_when_beat_is_given_two_replicas(render: RenderFn) -> None:
    with pytest.raises(helm.HelmRenderError, match="beat.replicas is 2.*single replica"):
        render(deep_merge(CONFIGURED, {"beat": {"replicas": 2}}))


def test_beat_can_be_paused_with_zero_replicas(render: RenderFn) -> None:
    rendered = render(deep_merge(CONFIGURED, {"beat": {"replicas": 0}}))
    assert rendered.component("Deployment", "beat")["spec"]["replicas"] == 0


def test_worker_and_beat_can_be_switched_off(render: RenderFn) -> None:
    rendered = render(deep_merge(CONFIGURED, {"worker": {"enabled": False}, "beat": {"enabled": False}}))
    assert rendered.names("Deployment") == {"sb-sprintboard-web"}
    assert rendered.names("PodDisruptionBudget") == {"sb-sprintboard-web"}


# Migrations hook -------------------------------------------------------------


def test_migrations_run_as_a_pre_install_and_pre_upgrade_hook(
    configured_render: Rendered,
) -> None:
    job = configured_render.component("Job", "migrate")
    annotations = job["metadata"]["annotations"]
    assert annotations[HOOK] == "pre-install,pre-upgrade"
    assert "before-hook-creation" in annotations[HOOK_DELETE]
    assert pod_spec(job)["restartPolicy"] == "Never"


def test_migrations_get_their_configuration_from_hooks_created_before_them(
    configured_render: Rendered,
) -> None:
    job = configured_render.component("Job", "migrate")
    job_weight = int(job["metadata"]["annotations"][HOOK_WEIGHT])
    spec = pod_spec(job)
    needed = [("ServiceAccount", spec["serviceAccountName"])] + [
        ("ConfigMap" if "configMapRef" in ref else "Secret", next(iter(ref.values()))["name"])
        for ref in container(job)["envFrom"]
    ]
    assert [kind for kind, _ in needed] == ["ServiceAccount", "ConfigMap", "Secret"]
    for kind, name in needed:
        hook = configured_render.get(kind, name)
        annotations = hook["metadata"]["annotations"]
        assert annotations[HOOK] == "pre-install,pre-upgrade", (kind, name)
        assert int(annotations[HOOK_WEIGHT]) < job_weight, (kind, name)
        assert "before-hook-creation" in annotations[HOOK_DELETE], (kind, name)


def test_migrations_hook_config_matches_the_release_config(configured_render: Rendered) -> None:
    release_cm = configured_render.get("ConfigMap", "sb-sprintboard")
    hook_cm = configured_render.get("ConfigMap", "sb-sprintboard-migrate")
    assert hook_cm["data"] == release_cm["data"]
    release_secret = configured_render.get("Secret", "sb-sprintboard")
    hook_secret = configured_render.get("Secret", "sb-sprintboard-migrate")
    assert hook_secret["data"] == release_secret["data"]


def test_migrations_can_be_switched_off(render: RenderFn) -> None:
    rendered = render(deep_merge(CONFIGURED, {"migrations": {"enabled": False}}))
    assert not any("migrate" in name for _, name in rendered.keys())


def test_only_hooks_and_the_test_pod_carry_hook_annotations(default_render: Rendered) -> None:
    hooks = {
        (obj["kind"], obj["metadata"]["name"]): obj["metadata"]["annotations"][HOOK]
        for obj in default_render.objects
        if HOOK in obj["metadata"].get("annotations", {})
    }
    assert hooks == {
        ("ServiceAccount", "sb-sprintboard-migrate"): "pre-install,pre-upgrade",
        ("ConfigMap", "sb-sprintboard-migrate"): "pre-install,pre-upgrade",
        ("Secret", "sb-sprintboard-migrate"): "pre-install,pre-upgrade",
        ("Job", "sb-sprintboard-migrate"): "pre-install,pre-upgrade",
        ("Pod", "sb-sprintboard-test"): "test",
        ("Pod", "sb-sprintboard-test-verify-events"): "test",
    }


def test_helm_test_pod_checks_health_and_readiness_through_the_service(
    default_render: Rendered,
) -> None:
    pod = default_render.get("Pod", "sb-sprintboard-test")
    script = container(pod)["command"][-1]
    assert '"http://sb-sprintboard-web:80"' in script
    assert '"/healthz"' in script and '"/readyz"' in script
    assert pod["spec"]["restartPolicy"] == "Never"


# Scaling ------------------------------------------------------------------


def test_no_autoscalers_by_default(default_render: Rendered) -> None:
    assert default_render.of_kind("HorizontalPodAutoscaler") == []
    assert default_render.component("Deployment", "web")["spec"]["replicas"] == 2
    assert default_render.component("Deployment", "worker")["spec"]["replicas"] == 1


def test_autoscalers_target_web_and_worker_and_own_their_replicas(render: RenderFn) -> None:
    rendered = render(
        deep_merge(
            CONFIGURED,
            {
                "web": {"autoscaling": {"enabled": True, "minReplicas": 3, "maxReplicas": 9}},
                "worker": {"autoscaling": {"enabled": True, "targetCPUUtilizationPercentage": 60}},
            },
        )
    )
    for component, low, high, cpu in (("web", 3, 9, 70), ("worker", 1, 5, 60)):
        hpa = rendered.component("HorizontalPodAutoscaler", component)
        assert hpa["spec"]["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": f"sb-sprintboard-{component}",
        }
        assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (low, high)
        (metric,) = hpa["spec"]["metrics"]
        assert metric["resource"] == {
            "name": "cpu",
            "target": {"type": "Utilization", "averageUtilization": cpu},
        }
        # A replicas field would fight the autoscaler on every upgrade.
        assert "replicas" not in rendered.component("Deployment", component)["spec"]


def test_pod_disruption_budgets_cover_web_and_worker_by_default(
    default_render: Rendered,
) -> None:
    for component in ("web", "worker"):
        pdb = default_render.component("PodDisruptionBudget", component)
        assert pdb["spec"]["maxUnavailable"] == 1
        assert pdb["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"] == component
    # A budget on a singleton would block node drains.
    assert "sb-sprintboard-beat" not in default_render.names("PodDisruptionBudget")


def test_pod_disruption_budget_min_available_replaces_max_unavailable(
    render: RenderFn,
) -> None:
    rendered = render(deep_merge(CONFIGURED, {"web": {"pdb": {"minAvailable": "50%"}}}))
    spec = rendered.component("PodDisruptionBudget", "web")["spec"]
    assert spec["minAvailable"] == "50%"
    assert "maxUnavailable" not in spec


def test_pod_disruption_budgets_can_be_switched_off(render: RenderFn) -> None:
    rendered = render(
        deep_merge(CONFIGURED, {"web": {"pdb": {"enabled": False}}, "worker": {"pdb": {"enabled": False}}})
    )
    assert rendered.of_kind("PodDisruptionBudget") == []
