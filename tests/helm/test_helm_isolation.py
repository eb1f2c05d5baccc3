"""Labels, selectors and names: releases side by side never collide."""

from __future__ import annotations

from typing import Any

import pytest
from chart_rendering import CONFIGURED, Rendered, RenderFn

SELECTOR_KEYS = {
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/component",
}
CLUSTER_SCOPED = {"ClusterRole", "ClusterRoleBinding", "Namespace", "PersistentVolume",
                  "StorageClass", "IngressClass", "PriorityClass"}  # fmt: skip


def selectors(rendered: Rendered) -> dict[tuple[str, str], dict[str, str]]:
    """Every label selector the release uses, by object."""
    found: dict[tuple[str, str], dict[str, str]] = {}
    for obj in rendered.objects:
        key = (obj["kind"], obj["metadata"]["name"])
        spec = obj.get("spec", {})
        if obj["kind"] in ("Deployment", "PodDisruptionBudget"):
            found[key] = spec["selector"]["matchLabels"]
        elif obj["kind"] == "Service":
            found[key] = spec["selector"]
        elif obj["kind"] == "NetworkPolicy":
            found[key] = spec["podSelector"]["matchLabels"]
    return found


def test_every_object_carries_the_standard_labels(production_render: Rendered) -> None:
    for obj in production_render.objects:
        labels = obj["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] == "sprintboard"
        assert labels["app.kubernetes.io/instance"] == "sprintboard"
        assert labels["app.kubernetes.io/managed-by"] == "Helm"
        assert labels["app.kubernetes.io/version"] == "0.1.0"
        assert labels["helm.sh/chart"] == "sprintboard-0.1.0"


def test_deployment_selectors_hold_only_name_instance_and_component(
    configured_render: Rendered,
) -> None:
    for deployment in configured_render.of_kind("Deployment"):
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert set(selector) == SELECTOR_KEYS
        pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= pod_labels.items()
        component = deployment["metadata"]["name"].rsplit("-", 1)[1]
        assert selector["app.kubernetes.io/component"] == component


def test_the_service_and_budgets_select_exactly_their_deployments_pods(
    configured_render: Rendered,
) -> None:
    pods = {
        d["metadata"]["name"]: d["spec"]["template"]["metadata"]["labels"]
        for d in configured_render.of_kind("Deployment")
    }
    for (kind, name), selector in selectors(configured_render).items():
        if kind == "NetworkPolicy":
            continue
        matched = [pod for pod, labels in pods.items() if selector.items() <= labels.items()]
        assert matched == [name], (kind, name, matched)


def test_selectors_do_not_change_with_the_chart_or_app_version(render: RenderFn) -> None:
    first = selectors(render(CONFIGURED))
    second = selectors(render({**CONFIGURED, "image": {"tag": "9.9.9"}}))
    assert first == second


def test_no_cluster_scoped_objects_so_namespaces_isolate_releases(
    default_render: Rendered, production_render: Rendered
) -> None:
    for rendered in (default_render, production_render):
        assert not {obj["kind"] for obj in rendered.objects} & CLUSTER_SCOPED


def test_two_releases_in_one_namespace_share_no_name_and_no_selector(
    render: RenderFn, production_values: dict[str, Any]
) -> None:
    everything_on: dict[str, Any] = {
        **production_values,
        "web": {"autoscaling": {"enabled": True}},
        "worker": {"autoscaling": {"enabled": True}},
    }
    blue = render(everything_on, release="blue", namespace="shared")
    green = render(everything_on, release="green", namespace="shared")
    assert not blue.keys() & green.keys()
    blue_selectors = {tuple(sorted(s.items())) for s in selectors(blue).values()}
    green_selectors = {tuple(sorted(s.items())) for s in selectors(green).values()}
    assert not blue_selectors & green_selectors
    for rendered, release in ((blue, "blue"), (green, "green")):
        for selector in selectors(rendered).values():
            assert selector["app.kubernetes.io/instance"] == release


def test_a_release_named_after_the_chart_does_not_collide_with_its_suffixed_twin(
    render: RenderFn,
) -> None:
    # `helm create`'s "contains" rule would name both sets "a-sprintboard-*".
    short = render(CONFIGURED, release="a")
    suffixed = render(CONFIGURED, release="a-sprintboard")
    assert not short.keys() & suffixed.keys()
    assert render(CONFIGURED, release="sprintboard").names("Service") == {"sprintboard-web"}


def test_the_same_release_in_two_namespaces_points_at_its_own_namespace(
    render: RenderFn,
) -> None:
    team_a = render(CONFIGURED, release="board", namespace="team-a")
    team_b = render(CONFIGURED, release="board", namespace="team-b")
    hosts_a = team_a.get("ConfigMap", "board-sprintboard")["data"]["DJANGO_ALLOWED_HOSTS"]
    hosts_b = team_b.get("ConfigMap", "board-sprintboard")["data"]["DJANGO_ALLOWED_HOSTS"]
    assert "board-sprintboard-web.team-a.svc" in hosts_a.split(",")
    assert "board-sprintboard-web.team-b.svc" in hosts_b.split(",")
    assert "team-b" in team_b.notes and "team-a" not in team_b.notes


@pytest.mark.parametrize(
    "pair",
    [
        ("x" * 52 + "a", "x" * 52 + "b"),  # differ only in the last character
        ("y" * 53, "y" * 52),  # one is a prefix of the other
    ],
)
def test_long_release_names_stay_within_63_characters_and_distinct(render: RenderFn, pair: tuple[str, str]) -> None:
    first, second = (render(CONFIGURED, release=name) for name in pair)
    for rendered in (first, second):
        names = [name for _, name in rendered.keys()]
        assert all(len(name) <= 63 for name in names), names
        assert len(set(rendered.keys())) == len(rendered.objects)
    assert not first.keys() & second.keys()


def test_fullname_override_names_every_object(render: RenderFn) -> None:
    rendered = render({**CONFIGURED, "fullnameOverride": "board"})
    assert rendered.names("Deployment") == {"board-web", "board-worker", "board-beat"}
    assert rendered.names("ConfigMap") == {"board", "board-migrate"}
