"""NetworkPolicies: web takes traffic from the ingress controller; all reach only DNS, PostgreSQL, Redis."""

from __future__ import annotations

from typing import Any

from chart_rendering import CONFIGURED, Rendered, RenderFn, deep_merge

INSTANCE = "app.kubernetes.io/instance"
COMPONENT = "app.kubernetes.io/component"


def egress_ports(policy: dict[str, Any]) -> list[set[tuple[Any, str]]]:
    return [{(p["port"], p["protocol"]) for p in rule["ports"]} for rule in policy["spec"]["egress"]]


def test_network_policies_are_on_by_default(default_render: Rendered) -> None:
    assert default_render.names("NetworkPolicy") == {
        "sb-sprintboard-web",
        "sb-sprintboard-backend",
        "sb-sprintboard-webhooks",
    }


def test_they_can_be_switched_off(render: RenderFn) -> None:
    rendered = render(deep_merge(CONFIGURED, {"networkPolicy": {"enabled": False}}))
    assert rendered.of_kind("NetworkPolicy") == []


def test_web_accepts_only_the_ingress_controller_and_its_test_pod(
    default_render: Rendered,
) -> None:
    policy = default_render.component("NetworkPolicy", "web")
    spec = policy["spec"]
    assert spec["podSelector"]["matchLabels"][COMPONENT] == "web"
    assert spec["podSelector"]["matchLabels"][INSTANCE] == "sb"
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    controller, test_pod = spec["ingress"]
    (peer,) = controller["from"]
    assert peer["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}
    assert peer["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "ingress-nginx"}}
    assert controller["ports"] == [{"port": "http", "protocol": "TCP"}]
    (peer,) = test_pod["from"]
    assert test_pod["ports"] == [{"port": "http", "protocol": "TCP"}, {"port": "ops", "protocol": "TCP"}]
    assert peer["podSelector"]["matchLabels"][COMPONENT] == "test"
    assert peer["podSelector"]["matchLabels"][INSTANCE] == "sb"


def test_the_helm_test_pod_is_one_that_web_accepts(default_render: Rendered) -> None:
    policy = default_render.component("NetworkPolicy", "web")
    allowed = policy["spec"]["ingress"][1]["from"][0]["podSelector"]["matchLabels"]
    pod_labels = default_render.get("Pod", "sb-sprintboard-test")["metadata"]["labels"]
    assert allowed.items() <= pod_labels.items()


def test_worker_beat_migrations_and_the_event_check_accept_no_traffic(default_render: Rendered) -> None:
    spec = default_render.component("NetworkPolicy", "backend")["spec"]
    assert spec["ingress"] == []
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    assert spec["podSelector"]["matchLabels"] == {
        "app.kubernetes.io/name": "sprintboard",
        INSTANCE: "sb",
    }
    (expression,) = spec["podSelector"]["matchExpressions"]
    assert expression == {
        "key": COMPONENT,
        "operator": "In",
        "values": ["worker", "beat", "migrate", "verify-events", "test-verify-events"],
    }


def test_every_pod_of_the_release_is_covered_by_a_policy(default_render: Rendered) -> None:
    backend = default_render.component("NetworkPolicy", "backend")["spec"]["podSelector"]
    web = default_render.component("NetworkPolicy", "web")["spec"]["podSelector"]
    for obj in default_render.workloads():
        if obj["kind"] == "Pod":
            continue
        labels = obj["spec"]["template"]["metadata"]["labels"]
        in_web = web["matchLabels"].items() <= labels.items()
        in_backend = backend["matchLabels"].items() <= labels.items() and (
            labels[COMPONENT] in backend["matchExpressions"][0]["values"]
        )
        assert in_web != in_backend, obj["metadata"]["name"]


def test_all_pods_may_reach_dns_postgresql_and_redis_only(default_render: Rendered) -> None:
    for component in ("web", "backend"):
        policy = default_render.component("NetworkPolicy", component)
        assert egress_ports(policy) == [
            {(53, "UDP"), (53, "TCP")},
            {(5432, "TCP")},
            {(6379, "TCP")},
        ]


def test_egress_follows_the_configured_ports_and_peers(render: RenderFn, production_render: Rendered) -> None:
    rendered = render(
        deep_merge(
            CONFIGURED,
            {
                "database": {"port": 6432},
                "redis": {"port": 6380},
                "networkPolicy": {"egress": {"extra": [{"ports": [{"port": 587, "protocol": "TCP"}]}]}},
            },
        )
    )
    policy = rendered.component("NetworkPolicy", "backend")
    assert egress_ports(policy)[1:] == [{(6432, "TCP")}, {(6380, "TCP")}, {(587, "TCP")}]

    dns, database, redis = production_render.component("NetworkPolicy", "web")["spec"]["egress"]
    assert dns["to"][0]["podSelector"] == {"matchLabels": {"k8s-app": "kube-dns"}}
    assert database["to"] == [{"ipBlock": {"cidr": "10.20.0.0/24"}}]
    assert redis["to"] == [{"ipBlock": {"cidr": "10.20.1.0/24"}}]


def test_extra_ingress_rules_are_added_for_web(production_render: Rendered) -> None:
    rules = production_render.component("NetworkPolicy", "web")["spec"]["ingress"]
    assert rules[-1]["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]


def test_the_worker_may_reach_public_webhook_receivers(default_render: Rendered) -> None:
    spec = default_render.component("NetworkPolicy", "webhooks")["spec"]
    assert spec["podSelector"]["matchLabels"][COMPONENT] == "worker"
    assert spec["policyTypes"] == ["Egress"] and "ingress" not in spec
    (rule,) = spec["egress"]
    assert rule["ports"] == [{"port": 443, "protocol": "TCP"}, {"port": 80, "protocol": "TCP"}]
    v4, v6 = (peer["ipBlock"] for peer in rule["to"])
    assert v4["cidr"] == "0.0.0.0/0" and {"10.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16"} <= set(v4["except"])
    assert v6["cidr"] == "::/0" and {"::1/128", "fc00::/7", "fe80::/10"} == set(v6["except"])


def test_allowing_private_receivers_opens_the_worker_s_egress_to_them(render: RenderFn) -> None:
    rendered = render(deep_merge(CONFIGURED, {"webhooks": {"allowPrivate": True, "egressPorts": [8443]}}))
    spec = rendered.component("NetworkPolicy", "webhooks")["spec"]
    (rule,) = spec["egress"]
    assert rule["ports"] == [{"port": 8443, "protocol": "TCP"}]
    assert all("except" not in peer["ipBlock"] for peer in rule["to"])
    assert rendered.get("ConfigMap", "sb-sprintboard")["data"]["SPRINTBOARD_WEBHOOK_ALLOW_PRIVATE"] == "true"


def test_no_webhook_ports_no_webhook_egress(render: RenderFn) -> None:
    rendered = render(deep_merge(CONFIGURED, {"webhooks": {"egressPorts": []}}))
    assert "sb-sprintboard-webhooks" not in rendered.names("NetworkPolicy")


def test_with_an_smtp_server_the_pods_may_reach_it(render: RenderFn) -> None:
    smtp_peers = [{"ipBlock": {"cidr": "10.30.0.5/32"}}]
    rendered = render(
        deep_merge(
            CONFIGURED,
            {"email": {"host": "smtp.internal", "port": 2525}, "networkPolicy": {"egress": {"smtp": smtp_peers}}},
        )
    )
    for component in ("web", "backend"):
        policy = rendered.component("NetworkPolicy", component)
        assert egress_ports(policy)[-1] == {(2525, "TCP")}
        assert policy["spec"]["egress"][-1]["to"] == smtp_peers


def test_with_an_imap_server_the_pods_may_reach_it(render: RenderFn) -> None:
    imap_peers = [{"ipBlock": {"cidr": "10.30.0.6/32"}}]
    imap = {"host": "imap.internal", "port": 143, "ssl": False, "starttls": True, "user": "u", "project": "DATA"}
    rendered = render(
        deep_merge(
            CONFIGURED,
            {"imap": {**imap, "password": "p"}, "networkPolicy": {"egress": {"imap": imap_peers}}},
        )
    )
    for component in ("web", "backend"):
        policy = rendered.component("NetworkPolicy", component)
        assert egress_ports(policy)[-1] == {(143, "TCP")}
        assert policy["spec"]["egress"][-1]["to"] == imap_peers
