"""values.yaml documents every key the chart defines, and the schema knows them all."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml
from chart_rendering import CHART_DIR

VALUES = CHART_DIR / "values.yaml"
KEY_LINE = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z][\w.-]*):")


def chart_keys(schema: dict[str, Any], prefix: str = "") -> set[str]:
    """Dotted paths of the keys the chart's schema defines (not inside $ref'd Kubernetes objects)."""
    keys = set()
    for name, node in schema.get("properties", {}).items():
        path = f"{prefix}{name}"
        keys.add(path)
        keys |= chart_keys(node, f"{path}.")
    return keys


def commented_keys() -> tuple[set[str], set[str]]:
    """Dotted paths of values.yaml keys, split by whether a comment line sits right above."""
    commented, bare = set(), set()
    stack: list[tuple[int, str]] = []
    previous = ""
    for line in VALUES.read_text().splitlines():
        match = KEY_LINE.match(line)
        if match:
            indent = len(match["indent"])
            while stack and stack[-1][0] >= indent:
                stack.pop()
            stack.append((indent, match["key"]))
            path = ".".join(key for _, key in stack)
            (commented if previous.lstrip().startswith("#") else bare).add(path)
        if line.strip():
            previous = line
    return commented, bare


def test_every_chart_key_in_values_yaml_has_a_comment() -> None:
    schema = json.loads((CHART_DIR / "values.schema.json").read_text())
    defined = chart_keys(schema) - {"global"}
    commented, bare = commented_keys()
    assert sorted(defined & bare) == []
    assert defined <= commented | bare


def test_values_yaml_sets_every_key_the_schema_defines() -> None:
    schema = json.loads((CHART_DIR / "values.schema.json").read_text())
    defined = chart_keys(schema) - {"global"}
    commented, bare = commented_keys()
    assert sorted(defined - (commented | bare)) == []


def test_values_yaml_parses_and_matches_the_chart_defaults(chart) -> None:
    assert yaml.safe_load(VALUES.read_text()) == chart.values
