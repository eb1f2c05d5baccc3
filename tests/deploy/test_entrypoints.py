"""The image's commands, run for real the way the Helm chart runs them.

The chart is rendered (tests/helm/chart_rendering.py) and each role's args and
environment are taken from it: the migrations Job, then gunicorn (web), the
Celery worker and Celery beat, each behind docker/entrypoint.sh, as
subprocesses against this machine's PostgreSQL and Redis. Only what a laptop
cannot have is changed: /tmp becomes a temporary directory, gunicorn binds
127.0.0.1 on a free port, and the database and Redis database are fresh ones
made for this module and removed after it.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import redis
from psycopg import sql

from tests.deploy.environment import REPO, app_environment

sys.path.insert(0, str(REPO / "tests" / "helm"))
import helm_python as helm  # noqa: E402
from chart_rendering import CHART_DIR, CONFIGURED, Rendered, pod_spec, render_chart  # noqa: E402

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

ENTRYPOINT = REPO / "docker" / "entrypoint.sh"
ALLOWED_HOST = "sprintboard.example.com"
POD_IP_HOST = "10.42.0.17:8000"  # how kubelet probes and Prometheus address a pod
STARTUP_TIMEOUT = 30.0


# --- Services of this machine, made fresh for the module -----------------------------------


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    """A new, empty PostgreSQL database on DATABASE_URL's server, dropped afterwards."""
    server = urlsplit(os.environ["DATABASE_URL"])
    name = f"sprintboard_deploy_{secrets.token_hex(4)}"
    admin = psycopg.conninfo.make_conninfo(os.environ["DATABASE_URL"], dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield urlunsplit(server._replace(path=f"/{name}"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """An empty Redis database on REDIS_URL's server, so no other run's tasks or counters mix in."""
    server = urlsplit(os.environ["REDIS_URL"])
    taken = server.path.strip("/") or "0"
    candidates = [n for n in range(1, 16) if str(n) != taken]
    random.shuffle(candidates)
    for number in candidates:
        url = urlunsplit(server._replace(path=f"/{number}"))
        client = redis.Redis.from_url(url)
        if client.dbsize() == 0:
            break
    else:
        pytest.fail("no empty Redis database (1-15) for the deploy test")
    yield url
    client.flushdb()


# --- The chart's commands --------------------------------------------------------------


@pytest.fixture(scope="module")
def chart_render() -> Rendered:
    values = {**CONFIGURED, "ingress": {"enabled": True, "hosts": [ALLOWED_HOST]}}
    with helm.Chart.load(CHART_DIR) as chart:
        return render_chart(chart, values)


@dataclass
class Role:
    """One container of the chart, turned into a local command and environment."""

    args: list[str]
    env: dict[str, str]


def localise(value: str, tmp: Path, port: int) -> str:
    value = value.replace("0.0.0.0:8000", f"127.0.0.1:{port}").replace("0.0.0.0:", "127.0.0.1:")
    return str(tmp) + value[4:] if value == "/tmp" or value.startswith("/tmp/") else value


def chart_role(
    rendered: Rendered,
    kind: str,
    component: str,
    *,
    base_env: dict[str, str],
    tmp: Path,
    port: int = 0,
    ops_port: int = 0,
) -> Role:
    container = pod_spec(rendered.component(kind, component))["containers"][0]
    env = dict(base_env)
    env.update({item["name"]: localise(item["value"], tmp, port) for item in container.get("env", [])})
    if "SPRINTBOARD_OPS_PORT" in env:  # web's second port (probes and metrics), on a free one here
        env["SPRINTBOARD_OPS_PORT"] = str(ops_port)
    if port:  # gunicorn.conf.py binds 0.0.0.0:8000 unless told otherwise
        env["SPRINTBOARD_BIND"] = f"127.0.0.1:{port}"
    # Kubernetes expands $(NAME) in args from the container's environment.
    args = [localise(re.sub(r"\$\((\w+)\)", lambda m: env[m.group(1)], arg), tmp, port) for arg in container["args"]]
    return Role(args=[str(ENTRYPOINT), *args], env=env)


# --- Processes ------------------------------------------------------------------------


@dataclass
class Service:
    name: str
    process: subprocess.Popen
    log: Path
    port: int = 0
    ops_port: int = 0  # web: where /readyz and /metrics are answered (the chart's web.opsPort)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        """SIGTERM to the process group this test started (gunicorn's and Celery's children too), then SIGKILL."""
        if self.alive():
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def start(name: str, role: Role, tmp: Path, *, port: int = 0, ops_port: int = 0) -> Service:
    log = tmp / f"{name}.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            role.args, cwd=REPO, env=role.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    return Service(name=name, process=process, log=log, port=port, ops_port=ops_port)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(port: int, path: str, *, host: str = ALLOWED_HOST, https: bool = True) -> tuple[int, str]:
    """GET over plain HTTP, as behind the TLS-terminating ingress (https=True) or straight to the pod."""
    headers = {"Host": host, **({"X-Forwarded-Proto": "https"} if https else {})}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def wait_for_web(web: Service) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        assert web.alive(), f"{web.name} exited:\n{web.output()}"
        try:
            if get(web.port, "/healthz", host=POD_IP_HOST, https=False)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    pytest.fail(f"{web.name} did not answer /healthz within {STARTUP_TIMEOUT} s:\n{web.output()}")


def wait_for(predicate: Callable[[], Any], timeout: float, message: Callable[[], str]) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := predicate():
            return result
        time.sleep(0.3)
    pytest.fail(message())


# --- The deployment ---------------------------------------------------------------------


@dataclass
class Deployment:
    tmp: Path
    pod_env: dict[str, str]
    migrate: subprocess.CompletedProcess
    web: Service
    worker: Service
    beat: Service
    rendered: Rendered


@pytest.fixture(scope="module")
def deployment(
    tmp_path_factory: pytest.TempPathFactory, chart_render: Rendered, database_url: str, redis_url: str
) -> Iterator[Deployment]:
    tmp = tmp_path_factory.mktemp("pod")
    config = chart_render.get("ConfigMap", "sb-sprintboard")["data"]
    secret = {
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
    }
    pod_env = app_environment(**(config | secret))

    migrate_role = chart_role(chart_render, "Job", "migrate", base_env=pod_env, tmp=tmp)
    migrate = subprocess.run(
        migrate_role.args, cwd=REPO, env=migrate_role.env, capture_output=True, text=True, timeout=120
    )
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr

    port, ops_port = free_port(), free_port()
    roles = {
        "web": chart_role(chart_render, "Deployment", "web", base_env=pod_env, tmp=tmp, port=port, ops_port=ops_port),
        "worker": chart_role(chart_render, "Deployment", "worker", base_env=pod_env, tmp=tmp),
        "beat": chart_role(chart_render, "Deployment", "beat", base_env=pod_env, tmp=tmp),
    }
    services: dict[str, Service] = {}
    try:
        for name, role in roles.items():
            web = name == "web"
            services[name] = start(name, role, tmp, port=port if web else 0, ops_port=ops_port if web else 0)
        wait_for_web(services["web"])
        yield Deployment(tmp, pod_env, migrate, rendered=chart_render, **services)
    finally:
        for service in services.values():
            service.stop()


def metrics(deployment: Deployment) -> str:
    status, body = get(deployment.web.ops_port, "/metrics", host=POD_IP_HOST, https=False)
    assert status == 200, body
    return body


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample in Prometheus text format, whatever the order of its labels."""
    for line in text.splitlines():
        match = re.fullmatch(rf"{re.escape(name)}\{{(.*)\}} (\S+)", line)
        if match and dict(re.findall(r'(\w+)="([^"]*)"', match.group(1))) == labels:
            return float(match.group(2))
    return None


# --- Tests ------------------------------------------------------------------------------


def test_migrations_job_creates_the_schema(deployment: Deployment) -> None:
    with psycopg.connect(deployment.pod_env["DATABASE_URL"]) as conn:
        applied = conn.execute("SELECT count(*) FROM django_migrations").fetchone()[0]
    assert applied > 0
    assert "No migrations to apply" not in deployment.migrate.stdout


def test_web_runs_web_concurrency_gunicorn_workers(deployment: Deployment) -> None:
    container = pod_spec(deployment.rendered.component("Deployment", "web"))["containers"][0]
    concurrency = int(next(item["value"] for item in container["env"] if item["name"] == "WEB_CONCURRENCY"))
    assert concurrency == 2  # the chart's default, and what multiprocess metrics need to be tested

    wait_for(
        lambda: deployment.web.output().count("Booting worker with pid") == concurrency,
        10,
        lambda: f"gunicorn did not boot {concurrency} workers:\n{deployment.web.output()}",
    )


def test_liveness_answers_200(deployment: Deployment) -> None:
    assert get(deployment.web.port, "/healthz") == (200, '{"status": "ok"}')


def answered_and_left_open(port: int, request: bytes) -> socket.socket:
    """Sends ``request`` on a new connection and reads the answer to its end (the server's close of its side),
    then leaves the connection open: a client that has not closed yet (still reading, or far away)."""
    client = socket.create_connection(("127.0.0.1", port), timeout=10)
    client.sendall(request)
    while client.recv(65536):
        pass
    return client


def web_workers_held(deployment: Deployment, request: bytes) -> float:
    """Seconds a GET takes while each web worker has just answered ``request`` to a client that keeps its
    connection open."""
    held = [answered_and_left_open(deployment.web.port, request) for _ in range(2)]  # WEB_CONCURRENCY: 2
    try:
        began = time.monotonic()
        assert get(deployment.web.port, "/healthz", host=POD_IP_HOST, https=False)[0] == 200
        return time.monotonic() - began
    finally:
        for client in held:
            client.close()


def test_a_worker_does_not_wait_for_the_client_to_close_after_a_request_it_read_to_the_end(
    deployment: Deployment,
) -> None:
    """gunicorn's own close waits up to 2 s for the client's: both workers would be held (config/gunicorn_worker.py)."""
    request = f"GET /healthz HTTP/1.1\r\nHost: {POD_IP_HOST}\r\n\r\n".encode()
    assert web_workers_held(deployment, request) < 1.0


def test_a_worker_still_lingers_after_a_request_whose_body_it_left_unread(deployment: Deployment) -> None:
    """Closing with unread data would answer the client's next bytes with a reset: gunicorn's graceful close
    waits for the client instead (up to 2 s), so the next request waits for a worker."""
    request = f"POST /healthz HTTP/1.1\r\nHost: {POD_IP_HOST}\r\nContent-Length: 100\r\n\r\n{'x' * 10}".encode()
    assert web_workers_held(deployment, request) >= 1.0


def test_readiness_answers_200_when_database_and_redis_answer(deployment: Deployment) -> None:
    assert get(deployment.web.ops_port, "/readyz") == (200, '{"status": "ok"}')


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
def test_probes_and_scrapes_by_pod_ip_over_plain_http_are_answered(deployment: Deployment, path: str) -> None:
    status, _ = get(deployment.web.ops_port, path, host=POD_IP_HOST, https=False)
    assert status == 200


@pytest.mark.parametrize("path", ["/readyz", "/metrics"])
@pytest.mark.parametrize("host", [ALLOWED_HOST, POD_IP_HOST])
def test_readiness_and_metrics_are_not_answered_on_the_port_the_ingress_routes_to(
    deployment: Deployment, path: str, host: str
) -> None:
    status, body = get(deployment.web.port, path, host=host, https=False)
    assert status == 404 and "sprintboard_" not in body and "status" not in body


def test_the_ops_port_serves_nothing_but_probes_and_metrics(deployment: Deployment) -> None:
    assert get(deployment.web.ops_port, "/login/", host=POD_IP_HOST, https=False)[0] == 404
    assert get(deployment.web.ops_port, "/api/v1/projects/", host=POD_IP_HOST, https=False)[0] == 404


def test_other_pages_keep_allowed_hosts_and_the_https_redirect(deployment: Deployment) -> None:
    assert get(deployment.web.port, "/login/", host=POD_IP_HOST)[0] == 400
    assert get(deployment.web.port, "/login/", https=False)[0] == 301


def test_metrics_report_request_latency_summed_over_gunicorn_workers(deployment: Deployment) -> None:
    for _ in range(12):
        assert get(deployment.web.port, "/api/v1/projects/")[0] == 401

    labels = {"method": "GET", "route": "/api/v1/projects/", "status": "401"}
    # Whichever worker answers the scrape, it reports every worker's requests.
    for _ in range(4):
        assert sample(metrics(deployment), "sprintboard_http_request_duration_seconds_count", **labels) == 12.0


def test_metrics_count_and_time_tasks_the_worker_ran(deployment: Deployment) -> None:
    enqueue = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from config.celery import ping_task; ping_task.delay()"],
        cwd=REPO,
        env=deployment.pod_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert enqueue.returncode == 0, enqueue.stderr

    def counted() -> str | None:
        text = metrics(deployment)
        return (
            text if sample(text, "sprintboard_celery_tasks_total", task="sprintboard.ping", state="success") else None
        )

    text = wait_for(counted, 30, lambda: f"no task counted; worker log:\n{deployment.worker.output()}")
    assert sample(text, "sprintboard_celery_tasks_total", task="sprintboard.ping", state="success") == 1.0
    assert sample(text, "sprintboard_celery_task_duration_seconds_count", task="sprintboard.ping") == 1.0
    assert sample(text, "sprintboard_celery_task_duration_seconds_bucket", task="sprintboard.ping", le="+Inf") == 1.0


def test_beat_starts_and_stays_up(deployment: Deployment) -> None:
    wait_for(
        lambda: "beat: Starting" in deployment.beat.output(),
        15,
        lambda: f"beat did not start:\n{deployment.beat.output()}",
    )
    time.sleep(3)
    assert deployment.beat.alive(), deployment.beat.output()
    assert list(deployment.tmp.glob("celerybeat-schedule*")), "beat wrote no schedule under the pod's /tmp"
    assert deployment.worker.alive(), deployment.worker.output()


def test_web_logs_one_json_object_per_line(deployment: Deployment) -> None:
    get(deployment.web.port, "/healthz")
    lines = [line for line in deployment.web.output().splitlines() if line.startswith("{")]
    entries = [json.loads(line) for line in lines]
    access = [entry for entry in entries if entry["logger"] == "gunicorn.access"]
    assert any(entry["path"] == "/healthz" and entry["status"] == 200 for entry in access)
    assert any(entry["logger"] == "gunicorn.error" for entry in entries)


def test_readiness_names_redis_when_it_is_unreachable(deployment: Deployment, tmp_path: Path) -> None:
    closed = free_port()
    pod_env = {**deployment.pod_env, "REDIS_URL": f"redis://127.0.0.1:{closed}/0"}
    port, ops_port = free_port(), free_port()
    role = chart_role(
        deployment.rendered, "Deployment", "web", base_env=pod_env, tmp=tmp_path, port=port, ops_port=ops_port
    )
    web = start("web-without-redis", role, tmp_path, port=port, ops_port=ops_port)
    try:
        wait_for_web(web)
        status, body = get(ops_port, "/readyz", host=POD_IP_HOST, https=False)
    finally:
        web.stop()
    assert status == 503
    assert '"redis"' in body and '"database"' not in body
    assert "127.0.0.1" not in body and str(closed) not in body and "Error" not in body  # no address, no exception


def test_the_charts_configuration_passes_check_deploy(deployment: Deployment) -> None:
    check = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO,
        env=deployment.pod_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.returncode == 0, check.stderr


def test_the_worker_liveness_probe_reaches_the_worker(deployment: Deployment) -> None:
    probe = deployment.rendered.component("Deployment", "worker")
    command = pod_spec(probe)["containers"][0]["livenessProbe"]["exec"]["command"]
    # Kubernetes sets HOSTNAME to the pod name, which is also the worker's node name.
    env = {**deployment.pod_env, "HOSTNAME": socket.gethostname()}
    wait_for(
        lambda: "ready." in deployment.worker.output(),
        20,
        lambda: f"worker not ready:\n{deployment.worker.output()}",
    )
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
