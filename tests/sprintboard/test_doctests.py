"""The examples in every engine module's docstrings run as tests."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "errors",
    "records",
    "history",
    "flow",
    "sprints",
    "waste",
    "forecast",
    "dataops",
    "projection",
    "rows",
    "jira",
    "csvimport",
    "mentions",
    "codehost",
    "search",
    "pipelines",
]


@pytest.mark.parametrize("name", MODULES)
def test_module_examples_run(name):
    module = importlib.import_module(f"sprintboard.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"sprintboard.{name} has no examples"
    assert result.failed == 0


@pytest.mark.parametrize("name", MODULES)
def test_module_defines_all_and_imports_no_framework(name):
    module = importlib.import_module(f"sprintboard.{name}")
    assert module.__all__
    assert all(hasattr(module, public) for public in module.__all__)
    source = open(module.__file__, encoding="utf-8").read()
    for framework in ("django", "rest_framework", "celery", "apps.", "config."):
        assert f"import {framework}" not in source and f"from {framework}" not in source
