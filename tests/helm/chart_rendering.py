"""Render helm/sprintboard with Helm's own engine, offline, and read the result.

helm-python-sdk binds Helm's Go library (libhelm_c) through ctypes: no helm
binary and no cluster. It is imported unconditionally so that a machine
without it fails these tests instead of skipping them.

    render(values, release=..., namespace=...)  -> Rendered
    Rendered.get(kind, name) / .of_kind(kind) / .workloads() / .notes
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import helm_python as helm
import yaml

REPO = Path(__file__).resolve().parents[2]
CHART_DIR = REPO / "helm" / "sprintboard"
PRODUCTION_VALUES = REPO / "ci" / "production-values.yaml"

RELEASE = "sb"
NAMESPACE = "team-data"
SECRET_KEY = "test-secret-key-not-for-production"
# Values that make a render deterministic (no generated secret key) and complete.
CONFIGURED: dict[str, Any] = {
    "django": {"secretKey": SECRET_KEY},
    "database": {"host": "pg.example.internal", "password": "pg-password"},
    "redis": {"host": "redis.example.internal"},
}
# CONFIGURED with the opt-in event-log check (CronJob and `helm test` pod) on.
VERIFY_EVENTS: dict[str, Any] = {**CONFIGURED, "verifyEvents": {"enabled": True}}
WORKLOAD_KINDS = ("Deployment", "Job", "CronJob", "Pod")
POD_COMPONENTS = ("web", "worker", "beat", "migrate")


@dataclass
class Rendered:
    """The objects one render produced, and NOTES.txt."""

    objects: list[dict[str, Any]]
    release: str = RELEASE
    notes: str = ""
    sources: dict[tuple[str, str], str] = field(default_factory=dict)

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [obj for obj in self.objects if obj["kind"] == kind]

    def get(self, kind: str, name: str) -> dict[str, Any]:
        for obj in self.of_kind(kind):
            if obj["metadata"]["name"] == name:
                return obj
        found = sorted(o["metadata"]["name"] for o in self.of_kind(kind))
        raise KeyError(f"no {kind} named {name}; rendered: {found}")

    def names(self, kind: str) -> set[str]:
        return {obj["metadata"]["name"] for obj in self.of_kind(kind)}

    def keys(self) -> set[tuple[str, str]]:
        return {(obj["kind"], obj["metadata"]["name"]) for obj in self.objects}

    def workloads(self) -> list[dict[str, Any]]:
        return [obj for obj in self.objects if obj["kind"] in WORKLOAD_KINDS]

    def component(self, kind: str, component: str) -> dict[str, Any]:
        """The object of one component, e.g. ("Deployment", "web")."""
        base = self.release if self.release == "sprintboard" else f"{self.release}-sprintboard"
        return self.get(kind, f"{base}-{component}")


def pod_template(obj: dict[str, Any]) -> dict[str, Any]:
    """The pod template of a Deployment, Job or CronJob."""
    if obj["kind"] == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]
    return obj["spec"]["template"]


def pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    """The pod spec of a Deployment, Job, CronJob or Pod."""
    if obj["kind"] == "Pod":
        return obj["spec"]
    return pod_template(obj)["spec"]


def pod_annotations(obj: dict[str, Any]) -> dict[str, str]:
    return pod_template(obj)["metadata"].get("annotations", {})


def secret_values(secret: dict[str, Any]) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in secret.get("data", {}).items()}


def parse(manifests: dict[str, str], release: str) -> Rendered:
    rendered = Rendered(objects=[], release=release)
    for path, text in manifests.items():
        if path.endswith("NOTES.txt"):
            rendered.notes = text
            continue
        for doc in yaml.safe_load_all(text):
            if doc:
                rendered.objects.append(doc)
                rendered.sources[(doc["kind"], doc["metadata"]["name"])] = path
    return rendered


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def render_chart(
    chart: helm.Chart,
    values: dict[str, Any] | None = None,
    *,
    release: str = RELEASE,
    namespace: str = NAMESPACE,
    is_upgrade: bool = False,
) -> Rendered:
    """Render as `helm template`/`helm install` would, through Chart.render."""
    manifests = chart.render(
        values or {},
        name=release,
        namespace=namespace,
        is_install=not is_upgrade,
        is_upgrade=is_upgrade,
    )
    return parse(manifests, release)


RenderFn = Callable[..., Rendered]
