"""Fixtures shared by every test, and the rules for real services.

Tests marked ``postgres`` or ``redis`` run against the real services named by
DATABASE_URL and REDIS_URL. On a laptop without them they are skipped, and the
run ends with a loud line saying so; under CI=true a missing service fails the
run instead.
"""

from __future__ import annotations

import os

import pytest
from django.conf import settings
from hypothesis import settings as hypothesis_settings

CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

# CI explores the same examples on every run, so a red build is reproducible; laptops explore new ones.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if CI:
    hypothesis_settings.load_profile("ci")


def _missing_services() -> dict[str, str]:
    missing = {}
    if not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        missing["postgres"] = "DATABASE_URL does not name a PostgreSQL database"
    if not settings.REDIS_URL:
        missing["redis"] = "REDIS_URL is not set"
    return missing


_skipped: dict[str, int] = {}


def pytest_configure(config):
    missing = _missing_services()
    if CI and missing:
        raise pytest.UsageError(
            "CI=true but services are missing: "
            + "; ".join(missing.values())
            + ". .ci/run starts them and sets the URLs."
        )


def pytest_collection_modifyitems(config, items):
    for item in items:
        for marker, reason in _missing_services().items():
            if marker in item.keywords:
                _skipped[marker] = _skipped.get(marker, 0) + 1
                item.add_marker(pytest.mark.skip(reason=f"needs {marker}: {reason}"))


def pytest_terminal_summary(terminalreporter):
    if not _skipped:
        return
    missing = _missing_services()
    terminalreporter.write_sep("!", "SERVICES MISSING: tests skipped", red=True, bold=True)
    for marker, count in _skipped.items():
        terminalreporter.write_line(
            f"{count} tests marked '{marker}' were SKIPPED: {missing.get(marker, '')}", red=True
        )
    terminalreporter.write_line("Set DATABASE_URL and REDIS_URL (see README: Running the tests) to run them.", red=True)


# --- The log stays true ------------------------------------------------------------


def _writes_to_the_database(item: pytest.Item) -> bool:
    names = getattr(item, "fixturenames", ())
    return item.get_closest_marker("django_db") is not None or "db" in names or "transactional_db" in names


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    """After every test that uses the database, ``verify_events`` must find nothing to report.

    Run inside the test's call, before its transaction is rolled back: whatever door the test wrote
    through (API, page, admin, seed, a task), every story row must still be what its event log says.
    Tests that tamper with the log on purpose say so with ``@pytest.mark.tampers_log``.
    """
    result = yield
    if _writes_to_the_database(item) and item.get_closest_marker("tampers_log") is None:
        from apps.projects.models import Project
        from apps.stories.verification import verify_project

        mismatches = [str(m) for project in Project.objects.all() for m in verify_project(project)]
        assert not mismatches, "verify_events after this test:\n" + "\n".join(mismatches[:20])
    return result


# --- People and a project ----------------------------------------------------------


@pytest.fixture
def make_user(django_user_model):
    def make(username: str, **extra):
        return django_user_model.objects.create_user(username=username, password="pw-" + username, **extra)

    return make


@pytest.fixture
def people(make_user):
    """One user per role, plus an outsider who belongs to another project."""
    return {name: make_user(name) for name in ("admin", "owner", "member", "stakeholder", "outsider")}


@pytest.fixture
def project(people):
    from apps.projects import services
    from apps.projects.models import Role

    project = services.project_create(creator=people["admin"], key="DATA", name="Data team")
    for name, role in (("owner", Role.PRODUCT_OWNER), ("member", Role.MEMBER), ("stakeholder", Role.STAKEHOLDER)):
        services.membership_add(project=project, user=people[name], role=role)
    other = services.project_create(creator=people["outsider"], key="OTHER", name="Other team")
    project.other = other
    return project


@pytest.fixture
def states(project):
    from apps.projects.selectors import workflow

    return {state.name: state for state in workflow(project)}


@pytest.fixture
def as_user(client, people):
    """The test client, logged in as one of ``people``."""

    def login(name: str):
        client.force_login(people[name])
        return client

    return login


@pytest.fixture
def browser_for(people):
    """A fresh test client per call, logged in as one of ``people`` (several users side by side)."""
    from django.test import Client

    def make(role: str) -> Client:
        client = Client()
        client.force_login(people[role])
        return client

    return make
