"""The environment every pod shares: ConfigMap, Secret, existingSecret, checksums."""

from __future__ import annotations

from typing import Any

import helm_python as helm
import pytest
from chart_rendering import (
    CONFIGURED,
    SECRET_KEY,
    Rendered,
    RenderFn,
    deep_merge,
    pod_annotations,
    pod_spec,
    secret_values,
)

ROLLED = ("web", "worker", "beat")


def checksums(rendered: Rendered) -> dict[str, tuple[str, str]]:
    result = {}
    for component in ROLLED:
        annotations = pod_annotations(rendered.component("Deployment", component))
        result[component] = (annotations["checksum/config"], annotations["checksum/secret"])
    return result


def env_sources(obj: dict[str, Any]) -> list[tuple[str, str]]:
    (container,) = pod_spec(obj)["containers"]
    return [(kind, ref["name"]) for source in container["envFrom"] for kind, ref in source.items()]


def test_every_pod_reads_one_configmap_and_one_secret(configured_render: Rendered) -> None:
    for component in ROLLED:
        assert env_sources(configured_render.component("Deployment", component)) == [
            ("configMapRef", "sb-sprintboard"),
            ("secretRef", "sb-sprintboard"),
        ]


def test_configmap_holds_the_django_settings(configured_render: Rendered) -> None:
    data = configured_render.get("ConfigMap", "sb-sprintboard")["data"]
    assert data == {
        "DJANGO_ALLOWED_HOSTS": ("sb-sprintboard-web,sb-sprintboard-web.team-data,sb-sprintboard-web.team-data.svc"),
        "DJANGO_CSRF_TRUSTED_ORIGINS": "",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECURE_SSL_REDIRECT": "true",
        "DJANGO_HSTS_SECONDS": "31536000",
        "DJANGO_LOG_FORMAT": "json",
        "DJANGO_LOG_LEVEL": "INFO",
        "SPRINTBOARD_LOGIN_FAILURE_LIMIT": "5",
        "SPRINTBOARD_LOGIN_COOLOFF_MINUTES": "15",
        "SPRINTBOARD_API_RATE_USER": "1200/minute",
        "SPRINTBOARD_API_RATE_ADDRESS": "2400/minute",
        "SPRINTBOARD_API_RATE_TOKEN_FAILURES": "20/minute",
        "SPRINTBOARD_TOKEN_TTL_DAYS": "0",
        "SPRINTBOARD_PASSWORD_CHANGE_REVOKES_TOKENS": "false",
        "SPRINTBOARD_REPORTS_MAX_PENDING_PER_USER": "10",
        "SPRINTBOARD_REPORTS_MAX_PENDING_PER_PROJECT": "30",
        "SPRINTBOARD_REPORTS_STUCK_MARGIN_SECONDS": "60",
        "SPRINTBOARD_REPORTS_QUEUED_EXPIRY_SECONDS": "3600",
        "SPRINTBOARD_REPORTS_UNUSED_DAYS": "14",
        "SPRINTBOARD_REPORT_MAX_MEMORY_MB": "384",
        "SPRINTBOARD_MARKDOWN_IMAGE_HOSTS": "",
        "SPRINTBOARD_TRUST_X_FORWARDED_PROTO": "false",
        "SPRINTBOARD_WEBHOOK_ALLOW_PRIVATE": "false",
        "SPRINTBOARD_WEBHOOK_TIMEOUT_SECONDS": "10",
        "SPRINTBOARD_WEBHOOK_RETRY_SECONDS": "30",
        "SPRINTBOARD_WEBHOOK_RETRY_MAX_SECONDS": "3600",
        "SPRINTBOARD_WEBHOOK_DISABLE_AFTER_HOURS": "24",
        "SPRINTBOARD_NUM_PROXIES": "0",
    }


def test_ingress_hosts_become_allowed_hosts_and_trusted_origins(render: RenderFn) -> None:
    rendered = render(
        deep_merge(
            CONFIGURED,
            {
                "ingress": {"enabled": True, "hosts": ["board.example.com"]},
                "django": {
                    "allowedHosts": ["localhost"],
                    "csrfTrustedOrigins": ["https://other.example.com"],
                },
            },
        )
    )
    data = rendered.get("ConfigMap", "sb-sprintboard")["data"]
    assert data["DJANGO_ALLOWED_HOSTS"].split(",")[:2] == ["board.example.com", "localhost"]
    assert data["DJANGO_CSRF_TRUSTED_ORIGINS"] == ("https://board.example.com,https://other.example.com")
    ingress = rendered.component("Ingress", "web")
    (rule,) = ingress["spec"]["rules"]
    assert rule["host"] == "board.example.com"
    (path,) = rule["http"]["paths"]
    assert path["backend"] == {"service": {"name": "sb-sprintboard-web", "port": {"name": "http"}}}


def test_ingress_needs_a_host(render: RenderFn) -> None:
    with pytest.raises(helm.HelmRenderError, match="ingress.hosts is empty"):
        render(deep_merge(CONFIGURED, {"ingress": {"enabled": True}}))


def test_secret_holds_the_secret_key_and_the_built_urls(configured_render: Rendered) -> None:
    values = secret_values(configured_render.get("Secret", "sb-sprintboard"))
    assert values == {
        "DJANGO_SECRET_KEY": SECRET_KEY,
        "DATABASE_URL": "postgres://sprintboard:pg-password@pg.example.internal:5432/sprintboard",
        "REDIS_URL": "redis://redis.example.internal:6379/0",
    }


def test_urls_escape_user_and_password(render: RenderFn) -> None:
    rendered = render(
        deep_merge(
            CONFIGURED,
            {
                "database": {"user": "app@team", "password": "p@ss:w/rd #1+2", "sslmode": "require"},
                "redis": {"password": "r/s@", "tls": True, "db": 2, "port": 6380},
            },
        )
    )
    values = secret_values(rendered.get("Secret", "sb-sprintboard"))
    assert values["DATABASE_URL"] == (
        "postgres://app%40team:p%40ss%3Aw%2Frd%20%231%2B2@pg.example.internal:5432/sprintboard?sslmode=require"
    )
    assert values["REDIS_URL"] == "rediss://:r%2Fs%40@redis.example.internal:6380/2"


def test_a_given_url_is_used_as_is(render: RenderFn) -> None:
    url = "postgresql://u:p@db:6432/board"
    rendered = render(deep_merge(CONFIGURED, {"database": {"url": url}}))
    assert secret_values(rendered.get("Secret", "sb-sprintboard"))["DATABASE_URL"] == url


def test_extra_variables_reach_the_configmap_and_the_secret(render: RenderFn) -> None:
    rendered = render(
        deep_merge(
            CONFIGURED,
            {"env": {"SPRINTBOARD_BOARD_POLL_MS": "3000"}, "secretEnv": {"SMTP_PASSWORD": "mail"}},
        )
    )
    assert rendered.get("ConfigMap", "sb-sprintboard")["data"]["SPRINTBOARD_BOARD_POLL_MS"] == "3000"
    assert secret_values(rendered.get("Secret", "sb-sprintboard"))["SMTP_PASSWORD"] == "mail"


def test_a_secret_key_is_generated_when_none_is_given(default_render: Rendered) -> None:
    key = secret_values(default_render.get("Secret", "sb-sprintboard"))["DJANGO_SECRET_KEY"]
    assert len(key) == 50


# Checksums ------------------------------------------------------------------


def test_checksums_are_stable_when_nothing_changes(render: RenderFn) -> None:
    assert checksums(render(CONFIGURED)) == checksums(render(CONFIGURED))


def test_all_pods_roll_when_the_configmap_changes(render: RenderFn) -> None:
    before = checksums(render(CONFIGURED))
    after = checksums(render(deep_merge(CONFIGURED, {"django": {"logLevel": "DEBUG"}})))
    for component in ROLLED:
        assert after[component][0] != before[component][0], component
        assert after[component][1] == before[component][1], component


def test_all_pods_roll_when_the_secret_changes(render: RenderFn) -> None:
    before = checksums(render(CONFIGURED))
    after = checksums(render(deep_merge(CONFIGURED, {"database": {"password": "rotated"}})))
    for component in ROLLED:
        assert after[component][0] == before[component][0], component
        assert after[component][1] != before[component][1], component


def test_checksums_do_not_leak_secret_values(configured_render: Rendered) -> None:
    annotations = pod_annotations(configured_render.component("Deployment", "web"))
    assert all("pg-password" not in v and SECRET_KEY not in v for v in annotations.values())


# existingSecret ----------------------------------------------------------------

EXISTING = {"existingSecret": "sprintboard-env"}


def test_existing_secret_replaces_the_chart_secret_everywhere(render: RenderFn) -> None:
    rendered = render(EXISTING)
    assert rendered.of_kind("Secret") == []
    for obj in rendered.workloads():
        if obj["kind"] == "Pod":
            continue
        refs = [name for kind, name in env_sources(obj) if kind == "secretRef"]
        assert refs == ["sprintboard-env"], obj["metadata"]["name"]
    # The hook Job still gets the non-secret settings from its own hook ConfigMap.
    assert env_sources(rendered.component("Job", "migrate"))[0] == (
        "configMapRef",
        "sb-sprintboard-migrate",
    )


def test_existing_secret_name_change_rolls_pods(render: RenderFn) -> None:
    first = checksums(render(EXISTING))
    second = checksums(render({"existingSecret": "sprintboard-env-v2"}))
    assert first == checksums(render(EXISTING))
    assert first["web"][1] != second["web"][1]


@pytest.mark.parametrize(
    "ignored",
    [
        {"django": {"secretKey": "x"}},
        {"database": {"url": "postgres://u:p@h/d"}},
        {"database": {"host": "pg"}},
        {"redis": {"password": "x"}},
        {"secretEnv": {"A": "b"}},
    ],
)
def test_existing_secret_refuses_values_it_would_ignore(render: RenderFn, ignored: dict[str, Any]) -> None:
    with pytest.raises(helm.HelmRenderError, match="existingSecret .* would be ignored"):
        render({**EXISTING, **ignored})


def test_email_values_reach_every_pod_and_the_password_the_secret(render: RenderFn) -> None:
    rendered = render(
        {
            **CONFIGURED,
            "ingress": {"enabled": True, "hosts": ["sprintboard.example.com"]},
            "email": {"host": "smtp.example.com", "user": "sb", "password": "s3cret", "from": "SB <sb@example.com>"},
        }
    )
    data = rendered.get("ConfigMap", "sb-sprintboard")["data"]
    assert data["EMAIL_HOST"] == "smtp.example.com" and data["EMAIL_PORT"] == "587"
    assert data["EMAIL_USE_TLS"] == "true" and data["EMAIL_HOST_USER"] == "sb"
    assert data["DEFAULT_FROM_EMAIL"] == "SB <sb@example.com>"
    assert data["SPRINTBOARD_BASE_URL"] == "https://sprintboard.example.com"
    assert "EMAIL_HOST_PASSWORD" not in data
    assert secret_values(rendered.get("Secret", "sb-sprintboard"))["EMAIL_HOST_PASSWORD"] == "s3cret"


def test_an_email_password_beside_an_existing_secret_is_refused(render: RenderFn) -> None:
    with pytest.raises(helm.HelmRenderError, match="email.password"):
        render({"existingSecret": "sb-env", "email": {"password": "s3cret"}})


IMAP = {"host": "imap.example.com", "user": "requests@example.com", "project": "DATA", "password": "imap-s3cret"}


def test_imap_values_reach_every_pod_and_the_password_the_secret(render: RenderFn) -> None:
    rendered = render({**CONFIGURED, "imap": IMAP})
    data = rendered.get("ConfigMap", "sb-sprintboard")["data"]
    assert data["SPRINTBOARD_IMAP_HOST"] == "imap.example.com" and data["SPRINTBOARD_IMAP_PORT"] == "993"
    assert data["SPRINTBOARD_IMAP_SSL"] == "true" and data["SPRINTBOARD_IMAP_STARTTLS"] == "false"
    assert data["SPRINTBOARD_IMAP_USER"] == "requests@example.com" and data["SPRINTBOARD_IMAP_MAILBOX"] == "INBOX"
    assert data["SPRINTBOARD_IMAP_PROJECT"] == "DATA" and data["SPRINTBOARD_IMAP_POLL_SECONDS"] == "60"
    assert "SPRINTBOARD_IMAP_PASSWORD" not in data
    assert secret_values(rendered.get("Secret", "sb-sprintboard"))["SPRINTBOARD_IMAP_PASSWORD"] == "imap-s3cret"


def test_without_an_imap_host_nothing_of_it_is_rendered(default_render: Rendered) -> None:
    data = default_render.get("ConfigMap", "sb-sprintboard")["data"]
    assert not [name for name in data if name.startswith("SPRINTBOARD_IMAP_")]


def test_the_imap_password_may_come_from_the_existing_secret_alone(render: RenderFn) -> None:
    rendered = render({**EXISTING, "imap": {**IMAP, "password": ""}})
    assert rendered.get("ConfigMap", "sb-sprintboard")["data"]["SPRINTBOARD_IMAP_HOST"] == "imap.example.com"
    with pytest.raises(helm.HelmRenderError, match="imap.password"):
        render({**EXISTING, "imap": IMAP})


@pytest.mark.parametrize(
    "imap, message",
    [
        ({**IMAP, "project": ""}, "imap.project"),
        ({**IMAP, "user": ""}, "imap.user"),
        ({**IMAP, "password": ""}, "imap.password is empty"),
        ({**IMAP, "starttls": True}, "ssl: false and port: 143"),
        ({**IMAP, "project": "data"}, "project"),
        ({**IMAP, "pollSeconds": 1}, "pollSeconds"),
        ({**IMAP, "folder": "INBOX"}, "folder"),
    ],
)
def test_imap_values_that_cannot_work_are_refused(render: RenderFn, imap: dict[str, Any], message: str) -> None:
    """The chart's own checks (a render error) and its schema (a values error) both say what is wrong."""
    with pytest.raises((helm.HelmRenderError, helm.HelmValuesError), match=message):
        render({**CONFIGURED, "imap": imap})
