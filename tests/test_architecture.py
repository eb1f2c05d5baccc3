"""The layering rules of ARCHITECTURE.md, checked on the source."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS_IN_ORDER = [
    "core",
    "projects",
    "deliverables",
    "stories",
    "intake",
    "reports",
    "imports",
    "transfer",
    "webhooks",
    "notifications",
    "integrations",
    "web",
]
FORBIDDEN_IN_ENGINE = ("django", "rest_framework", "celery", "apps", "config", "psycopg", "redis")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_the_engine_never_imports_django_or_the_apps():
    offenders = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in (ROOT / "sprintboard").rglob("*.py")
        for name in imported_modules(path)
        if name.split(".")[0] in FORBIDDEN_IN_ENGINE
    }
    assert not offenders


def test_apps_import_only_from_apps_above_them():
    offenders = set()
    for position, app in enumerate(APPS_IN_ORDER):
        below = set(APPS_IN_ORDER[position + 1 :])
        for path in (ROOT / "apps" / app).rglob("*.py"):
            for name in imported_modules(path):
                parts = name.split(".")
                if parts[0] == "apps" and len(parts) > 1 and parts[1] in below:
                    offenders.add(f"{path.relative_to(ROOT)} imports {name}")
    assert not offenders


def test_selectors_never_import_services():
    """Reads never call writes: selectors pull, services push (and may read through selectors)."""
    offenders = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in (ROOT / "apps").rglob("selectors.py")
        for name in imported_modules(path)
        if name.endswith(".services") or name.startswith("apps.") and ".services." in name
    }
    assert not offenders


def test_only_services_and_the_celery_wiring_import_tasks():
    """A task is queued by the service that owns it; views, selectors and other apps call that service."""
    allowed = {"services.py", "celery.py"}
    offenders = {
        f"{path.relative_to(ROOT)} imports {name}"
        for folder in ("apps", "config")
        for path in (ROOT / folder).rglob("*.py")
        if path.name not in allowed and path.parent.name != "services"
        for name in imported_modules(path)
        if name.split(".")[-1] == "tasks" or ".tasks." in name
    }
    assert not offenders


def test_no_template_line_is_over_200_characters():
    """Issue 18 item 4: templates wrap between tags, attributes or template tags, so every line reads in a diff."""
    offenders = [
        f"{path.relative_to(ROOT)}:{number} ({len(line)} characters)"
        for path in sorted((ROOT / "apps").glob("*/templates/**/*.html"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if len(line) > 200
    ]
    assert not offenders, "Template lines over 200 characters:\n" + "\n".join(offenders)


def test_every_table_that_may_scroll_sideways_is_reachable_by_keyboard():
    """Issue 15, Accessibility (axe's scrollable-region-focusable): a wide table scrolls inside its .table-wrap on a
    phone, so the wrap takes the focus (tabindex) and is a named region, as the report tables' are."""
    import re

    offenders = [
        f"{path.relative_to(ROOT)}: {tag}"
        for path in sorted((ROOT / "apps").glob("*/templates/**/*.html"))
        for tag in re.findall(r"<div [^>]*\btable-wrap\b[^>]*>", path.read_text(encoding="utf-8"))
        if not ('tabindex="0"' in tag and 'role="region"' in tag and "aria-label=" in tag)
    ]
    assert not offenders, "Table wraps without keyboard access:\n" + "\n".join(offenders)
