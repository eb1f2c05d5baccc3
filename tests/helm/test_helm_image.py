"""The image the chart runs: the Dockerfile's shape and the entrypoint script.

No container engine here, so the Dockerfile is read, not built.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from chart_rendering import REPO, Rendered, pod_spec

DOCKERFILE = REPO / "Dockerfile"
ENTRYPOINT = REPO / "docker" / "entrypoint.sh"


def stages() -> list[list[str]]:
    """Instructions per stage, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    result: list[list[str]] = [[]]
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            result.append([])
        result[-1].append(line)
    return result


def test_image_is_built_in_stages_onto_a_slim_python_3_11() -> None:
    preamble, *built = stages()
    assert "ARG PYTHON_VERSION=3.11" in preamble
    assert len(built) >= 3
    assert built[-1][0].startswith("FROM python:${PYTHON_VERSION}-slim")
    assert any(stage[0].startswith("FROM node:") for stage in built[:-1])


def test_final_stage_has_no_build_tools() -> None:
    final = " ".join(stages()[-1])
    for tool in ("apt-get install", "gcc", "build-essential", "npm ", "make "):
        assert tool not in final, tool


def test_final_stage_collects_static_files_with_a_throwaway_key() -> None:
    final = " ".join(stages()[-1])
    assert "DJANGO_SECRET_KEY=build-only-dummy python manage.py collectstatic --noinput" in final
    assert "COPY --from=assets /src/static/vendor/ /app/static/vendor/" in final
    assert "ENV DJANGO_SECRET_KEY" not in final


def test_image_runs_as_the_uid_the_chart_expects(default_render: Rendered) -> None:
    final = stages()[-1]
    users = [line for line in final if line.startswith("USER ")]
    assert users == ["USER 10001:10001"]
    for obj in default_render.workloads():
        assert pod_spec(obj)["securityContext"]["runAsUser"] == 10001


def test_entrypoint_keeps_the_command_and_clears_stale_metrics(tmp_path: Path) -> None:
    metrics = tmp_path / "prometheus"
    metrics.mkdir()
    (metrics / "counter_123.db").write_text("stale")
    (metrics / "notes.txt").write_text("keep")
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics)}
    result = subprocess.run(
        ["sh", str(ENTRYPOINT), "sh", "-c", "echo ran with $0", "args"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout == "ran with args\n"
    assert sorted(p.name for p in metrics.iterdir()) == ["notes.txt"]
    assert os.access(ENTRYPOINT, os.X_OK)


def test_entrypoint_creates_the_metrics_directory(tmp_path: Path) -> None:
    metrics = tmp_path / "prometheus"
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics)}
    subprocess.run(["sh", str(ENTRYPOINT), "true"], env=env, check=True)
    assert metrics.is_dir()


def test_build_context_leaves_out_local_state_and_secrets() -> None:
    ignored = set((REPO / ".dockerignore").read_text().split())
    assert {".git", ".venv", "node_modules", "static/vendor", "staticfiles", "db.sqlite3", ".env"} <= ignored
