"""Playwright against Debian's Chromium and pytest-django's live server.

Playwright's own browser download does not work here, so the system Chromium
is launched by path. Without it the e2e tests are skipped with a reason; under
CI=true a missing Chromium fails the run instead.

Every page runs under the app's Content-Security-Policy: a violation any page of a test reports
(Chromium's "Refused to ..." console error, or a ``securitypolicyviolation`` event) fails that test.
Scripts a test adds run through Playwright (``evaluate``, ``add_init_script``), which the policy does
not govern, never as inline ``<script>`` tags, which it refuses.

Tests wait for signals, never for time: every page sets ``body[data-ready]`` once
its scripts are set up (static/js/app.js), so a test opens a page with
``open_page(page, url)`` (or ``reload_page``, or ``click_through`` for a link or
form that loads a new page) and acts on it only then. Pages are 1440x900 unless a
test asks for the phone size (``PHONE``, 390x844).
"""

from __future__ import annotations

import os
import re
import shutil
from collections import Counter
from pathlib import Path

import pytest
from playwright.sync_api import expect

# CI shares two cores with the database, Redis and the server: give assertions room to settle.
expect.set_options(timeout=15_000)
# Playwright's sync API runs an event loop in this thread, so Django's async-safety check would refuse
# the ORM calls of fixtures and of the live server. Documented by pytest-django / Playwright for this case.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
RESULTS = Path(__file__).resolve().parents[2] / "test-results"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "e2e-password"
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
READY = "body[data-ready]"
# A full-page screenshot of a long report can take over 10 s when the CPU is shared (CI, several test runs).
SCREENSHOT_TIMEOUT_MS = 30_000


def wait_ready(page) -> None:
    """Wait until the page's scripts are set up: body[data-ready], set at the end of their setup."""
    page.locator(READY).wait_for(state="attached")


def open_page(page, url: str) -> None:
    """Go to ``url`` and wait until its scripts are set up."""
    page.goto(url)
    wait_ready(page)


def reload_page(page) -> None:
    page.reload()
    wait_ready(page)


def click_through(page, target) -> None:
    """Click a link or submit button that loads a new page, and wait until that page is set up."""
    with page.expect_navigation():
        target.click()
    wait_ready(page)


# What any page of the running test reported as refused by the Content-Security-Policy (see csp_guard).
CSP_VIOLATIONS: list[str] = []
# Runs in every document before its own scripts; the policy does not govern Playwright's init scripts.
REPORT_CSP_VIOLATIONS = """document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.effectiveDirective} refused ${event.blockedURI || "inline"}`
    + ` at ${event.sourceFile || document.URL}:${event.lineNumber} ${event.sample || ""}`);
});"""


def _record_csp_violation(message) -> None:
    text = message.text
    if message.type == "error" and (
        text.startswith(("Refused to", "CSP violation")) or "Content Security Policy" in text
    ):
        CSP_VIOLATIONS.append(f"{message.page.url if message.page else '?'}: {text}")


def new_page(browser, base_url: str, viewport: dict[str, int] = DESKTOP):
    """A page in a fresh context of its own (a second person, or another window size), watched for CSP violations."""
    context = browser.new_context(base_url=base_url, viewport=viewport)
    context.set_default_timeout(10_000)
    context.add_init_script(REPORT_CSP_VIOLATIONS)
    context.on("console", _record_csp_violation)
    return context.new_page()


@pytest.fixture(autouse=True)
def csp_guard():
    """Fails the test if any of its pages reported a Content-Security-Policy violation (checked last, after
    every page is closed, so what a page reported while it closed counts too)."""
    CSP_VIOLATIONS.clear()
    yield
    violations, CSP_VIOLATIONS[:] = Counter(CSP_VIOLATIONS), []
    if violations:
        lines = [f"{count} x {violation}" for violation, count in violations.items()]
        pytest.fail("The Content-Security-Policy refused:\n" + "\n".join(lines), pytrace=False)


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        message = "Chromium is not installed (apt-get install chromium): the e2e tests need it"
        if CI:
            pytest.fail(f"CI=true: {message}.", pytrace=False)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def browser():
    executable = _chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def viewport() -> dict[str, int]:
    """The window size of ``page``: a test takes the phone's with ``@pytest.mark.parametrize("viewport", [PHONE])``."""
    return DESKTOP


# Every page load saved as a screenshot in test-results/ only when asked (E2E_SCREENSHOTS=all): a full-page
# screenshot costs 0.1-1 s and the suite loads hundreds of pages. A failed test always leaves its last page.
SCREENSHOT_EVERY_LOAD = os.environ.get("E2E_SCREENSHOTS", "") == "all"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keeps each phase's report on the test (``item.failed_call``), so ``page`` knows, as it closes, whether
    the test failed."""
    report = yield
    if report.when == "call" and report.failed:
        item.failed_call = True
    return report


@pytest.fixture
def page(browser, live_server, transactional_db, request, viewport):
    """A fresh browser context per test. Its last page lands in test-results/ as a screenshot when the test
    failed; with E2E_SCREENSHOTS=all, every page it loaded does."""
    page = new_page(browser, live_server.url, viewport)
    context = page.context
    test_name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    shots = {"n": 0}

    def screenshot(frame) -> None:
        if frame != page.main_frame:
            return
        shots["n"] += 1
        RESULTS.mkdir(exist_ok=True)
        slug = re.sub(r"[^A-Za-z0-9]+", "-", frame.url.split("//", 1)[-1].split("/", 1)[-1]).strip("-") or "root"
        try:
            path = RESULTS / f"{test_name}-{shots['n']:02d}-{slug}.png"
            page.screenshot(path=str(path), full_page=True, timeout=SCREENSHOT_TIMEOUT_MS)
        except Exception:  # noqa: BLE001 - a page closed mid-screenshot must not fail the test
            pass

    if SCREENSHOT_EVERY_LOAD:
        page.on("load", lambda: screenshot(page.main_frame))
    yield page
    if SCREENSHOT_EVERY_LOAD or getattr(request.node, "failed_call", False):
        screenshot(page.main_frame)  # the last state, whatever loads were still being reported
    context.close()


@pytest.fixture
def snapshot(page, request):
    """``snapshot("label")``: a screenshot of the page as it is now (after an htmx swap, say)."""

    def take(label: str) -> Path:
        RESULTS.mkdir(exist_ok=True)
        path = RESULTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', request.node.name)}-{label}.png"
        page.screenshot(path=str(path), full_page=True, timeout=SCREENSHOT_TIMEOUT_MS)
        return path

    return take


# The demo's tables as seeded by the first test that asked for it (table -> binary COPY), restored for the next.
_DEMO_TABLES: dict[str, bytes] = {}


def _copy_out(tables: list[str]) -> dict[str, bytes]:
    from django.db import connection

    with connection.cursor() as cursor:
        out = {}
        for table in tables:
            with cursor.copy(f'COPY "{table}" TO STDOUT (FORMAT BINARY)') as copy:
                out[table] = b"".join(bytes(block) for block in copy)
        return out


def _copy_in(tables: dict[str, bytes]) -> None:
    """Every table as it was: in one transaction, so Django's deferred foreign keys are checked at its end. The
    sequences are left where they are (ahead of every restored id), so no id is handed out twice in a session."""
    from django.contrib.contenttypes.models import ContentType
    from django.core.cache import cache
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("TRUNCATE " + ", ".join(f'"{table}"' for table in tables))
        for table, data in tables.items():
            with cursor.copy(f'COPY "{table}" FROM STDIN (FORMAT BINARY)') as copy:
                copy.write(data)
    ContentType.objects.clear_cache()  # the flush's post_migrate made content types with other ids
    cache.clear()  # what an earlier test cached about the demo (fragments by seq) is not this demo's


@pytest.fixture
def demo(transactional_db, django_user_model):
    """The demo project (``make run``'s), its reports computed in process as without a broker; its people
    (admin, owner, member, stakeholder...) log in with ``log_in(page, name, DEMO_PASSWORD)``.

    Seeded once per session (10-20 s), then restored table by table for each test that asks for it."""
    from django.db import connection

    from apps.projects.models import Project
    from apps.web.demo import PROJECT_KEY, seed_demo
    from config.celery import app as celery_app

    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    try:
        if _DEMO_TABLES:
            _copy_in(_DEMO_TABLES)
            project = Project.objects.get(key=PROJECT_KEY)
        else:
            project = seed_demo()
            if connection.vendor == "postgresql":  # COPY is PostgreSQL's; elsewhere every test seeds
                _DEMO_TABLES.update(_copy_out(connection.introspection.django_table_names(only_existing=True)))
        yield project
    finally:
        celery_app.conf.task_always_eager = eager


def log_in(page, username: str, password: str = PASSWORD) -> None:
    """Log in through the login form and wait for the page it leads to."""
    open_page(page, "/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    click_through(page, page.get_by_role("button", name="Log in"))
    assert "/login/" not in page.url, f"{username} could not log in"


@pytest.fixture
def make_e2e_user(django_user_model, transactional_db):
    def make(username: str):
        return django_user_model.objects.create_user(username=username, password=PASSWORD)

    return make


@pytest.fixture
def login(make_e2e_user):
    """``login(page, username)``: creates the user if needed and logs in through the login form."""

    def do_login(page, username: str) -> None:
        from django.contrib.auth import get_user_model

        if not get_user_model().objects.filter(username=username).exists():
            make_e2e_user(username)
        log_in(page, username)

    return do_login
