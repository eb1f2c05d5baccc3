"""The CSV and JSON downloads every app shares: the module's examples, and formula neutralising."""

from __future__ import annotations

import doctest

import pytest

from apps.core import downloads


def test_the_module_examples_run():
    result = doctest.testmod(downloads)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_a_cell_a_spreadsheet_would_run_is_quoted(text):
    assert downloads.spreadsheet_cell(text) == "'" + text


def test_other_cells_are_kept():
    assert [downloads.spreadsheet_cell(v) for v in ("Done", "a=b", 3, 2.5, None)] == ["Done", "a=b", 3, 2.5, ""]
