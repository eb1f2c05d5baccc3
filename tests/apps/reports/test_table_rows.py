"""A report table's body, written in one pass by ``table_rows``: the cells the template wrote, escaped."""

from __future__ import annotations

from django.template import Context, Template

TABLE = Template("{% load report_format %}{% table_rows rows columns empty %}")


def render(rows, columns=3, empty="") -> str:
    return TABLE.render(Context({"rows": rows, "columns": columns, "empty": empty}))


def test_the_first_cell_heads_the_row_and_the_others_are_numbers():
    html = render([["2026-12-01", 3.0, 26.76923076923077], ["<b>DATA-1</b>", None, "2026-12-01T21:20:25.073772Z"]])
    assert html == (
        '<tr><th scope="row">2026-12-01</th><td class="num">3</td><td class="num">26.77</td></tr>\n'
        '<tr><th scope="row">&lt;b&gt;DATA-1&lt;/b&gt;</th><td class="num">—</td>'
        '<td class="num">2026-12-01 21:20 UTC</td></tr>'
    )


def test_an_empty_table_says_so_across_every_column():
    assert render([], 4) == '<tr><td colspan="4" class="empty">Nothing in this window.</td></tr>'
    assert render("", 2, "No <sprint> yet.") == '<tr><td colspan="2" class="empty">No &lt;sprint&gt; yet.</td></tr>'
