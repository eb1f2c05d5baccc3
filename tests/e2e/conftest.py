"""Playwright against Debian's Chromium and pytest-django's live server.

Playwright's own browser download does not work here, so the system Chromium
is launched by path. Without it the e2e tests are skipped with a reason; under
CI=true a missing Chromium fails the run instead.
"""

from __future__ import annotations

import os
import re
import shutil
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
def page(browser, live_server, transactional_db, request):
    """A fresh browser context per test; every page loaded is saved as a screenshot in test-results/."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    test_name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    shots = {"n": 0}

    def screenshot(frame) -> None:
        if frame != page.main_frame:
            return
        shots["n"] += 1
        RESULTS.mkdir(exist_ok=True)
        slug = re.sub(r"[^A-Za-z0-9]+", "-", frame.url.split("//", 1)[-1].split("/", 1)[-1]).strip("-") or "root"
        try:
            page.screenshot(path=str(RESULTS / f"{test_name}-{shots['n']:02d}-{slug}.png"), full_page=True)
        except Exception:  # noqa: BLE001 - a page closed mid-screenshot must not fail the test
            pass

    page.on("load", lambda: screenshot(page.main_frame))
    yield page
    screenshot(page.main_frame)  # the last state, whatever loads were still being reported
    context.close()


@pytest.fixture
def snapshot(page, request):
    """``snapshot("label")``: a screenshot of the page as it is now (after an htmx swap, say)."""

    def take(label: str) -> Path:
        RESULTS.mkdir(exist_ok=True)
        path = RESULTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', request.node.name)}-{label}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


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
        page.goto("/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url("**/")

    return do_login
