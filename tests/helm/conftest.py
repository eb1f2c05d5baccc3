"""Fixtures for the chart tests; the helpers live in chart_rendering.py.

helm-python-sdk is imported unconditionally (in chart_rendering): a machine
without it fails these tests rather than skipping them.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Let test modules import chart_rendering under any pytest import mode.
sys.path.insert(0, str(Path(__file__).resolve().parent))

import helm_python as helm  # noqa: E402
from chart_rendering import (  # noqa: E402
    CHART_DIR,
    CONFIGURED,
    PRODUCTION_VALUES,
    VERIFY_EVENTS,
    Rendered,
    RenderFn,
    render_chart,
)


@pytest.fixture(scope="session")
def chart() -> Iterator[helm.Chart]:
    with helm.Chart.load(CHART_DIR) as loaded:
        yield loaded


@pytest.fixture(scope="session")
def production_values() -> dict[str, Any]:
    return helm.values_from_yaml(PRODUCTION_VALUES.read_text())


@pytest.fixture(scope="session")
def render(chart: helm.Chart) -> RenderFn:
    """render(values, release=RELEASE, namespace=NAMESPACE) -> Rendered."""

    def _render(values: dict[str, Any] | None = None, **options: Any) -> Rendered:
        return render_chart(chart, values, **options)

    return _render


@pytest.fixture(scope="session")
def default_render(render: RenderFn) -> Rendered:
    return render()


@pytest.fixture(scope="session")
def configured_render(render: RenderFn) -> Rendered:
    return render(CONFIGURED)


@pytest.fixture(scope="session")
def production_render(render: RenderFn, production_values: dict[str, Any]) -> Rendered:
    return render(production_values, release="sprintboard", namespace="sprintboard")


@pytest.fixture(scope="session")
def verify_events_render(render: RenderFn) -> Rendered:
    return render(VERIFY_EVENTS)
