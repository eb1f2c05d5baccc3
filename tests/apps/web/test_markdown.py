"""The Markdown filter and the label colour filter (apps/web/templatetags/sprintboard.py)."""

from __future__ import annotations

import re

import pytest

from apps.web.templatetags.sprintboard import _luminance, _parse_hex, label_text_color, markdown_filter


def inputs(html: str) -> list[set[str]]:
    """Each <input>'s attributes, in any order (the sanitiser does not keep one)."""
    return [set(attributes.split()) for attributes in re.findall(r"<input ([^>]*)>", html)]


def test_task_list_items_become_disabled_checkboxes_labelled_by_their_text():
    html = str(markdown_filter("- [ ] map the owners\n- [x] load **the** accounts\n- plain"))
    assert re.search(r'<li class="task-list-item"><label><input [^>]*>map the owners</label></li>', html)
    assert re.search(r"<label><input [^>]*>load <strong>the</strong> accounts</label>", html)
    assert inputs(html) == [
        {'disabled=""', 'type="checkbox"'},
        {'checked=""', 'disabled=""', 'type="checkbox"'},
    ]
    assert "<li>plain</li>" in html
    assert "[ ]" not in html and "[x]" not in html


def test_a_loose_task_list_and_a_nested_one_keep_their_blocks():
    html = str(markdown_filter("- [X] first\n\n    - [ ] nested\n\n- [ ] second"))
    assert html.count('type="checkbox"') == 3
    assert html.count("checked") == 1
    assert "<ul>" in html.split("first", 1)[1]  # the nested list stays after the label, inside the item


def test_brackets_elsewhere_are_left_alone():
    assert "[ ] not a task" in str(markdown_filter("[ ] not a task"))
    assert "<li>a [x] b</li>" in str(markdown_filter("- a [x] b"))


def test_an_input_written_in_the_text_can_only_be_a_disabled_checkbox_without_a_name():
    html = str(markdown_filter('<input type="text" name="csrfmiddlewaretoken" value="x" form="other">'))
    assert html.count("<input") == 1
    assert 'type="checkbox"' in html and "disabled" in html
    for attribute in ("name=", "value=", "form=", 'type="text"'):
        assert attribute not in html


def test_every_image_has_an_alt_and_one_that_had_it_keeps_it():
    html = str(markdown_filter('![](a.png) <img src="b.png"> <img src="c.png" alt="Revenue by month">'))
    assert html.count("<img") == 3
    assert '<img alt="" src="a.png">' in html
    assert '<img alt="" src="b.png">' in html
    assert 'alt="Revenue by month"' in html


def test_scripts_and_handlers_are_still_stripped():
    html = str(markdown_filter('<script>alert(1)</script><a href="javascript:x()" onclick="y()">z</a>'))
    assert "<script" not in html and "javascript:" not in html and "onclick" not in html


def contrast_on_white(color: str) -> float:
    rgb = _parse_hex(color)
    assert rgb is not None
    return 1.05 / (_luminance(rgb) + 0.05)


@pytest.mark.parametrize("color", ["#8b5cf6", "#ff694b", "#16a34a", "#fde047", "#ffffff", "#64748b", "#abc"])
def test_label_text_reads_on_white_whatever_the_label_colour(color):
    assert contrast_on_white(label_text_color(color)) >= 4.5


def test_a_label_colour_that_reads_already_is_kept_and_a_bad_value_falls_back_to_the_text_colour():
    assert label_text_color("#1d4ed8") == "#1d4ed8"
    assert label_text_color("javascript:alert(1)") == "#1c2330"
    assert label_text_color(None) == "#1c2330"


# --- Images come from this site (or a host the settings allow): no tracking pixels -----------------


@pytest.mark.parametrize(
    "source",
    [
        "https://tracker.example/pixel.gif",
        "http://tracker.example/pixel.gif",
        "//tracker.example/pixel.gif",
        "/\\tracker.example/pixel.gif",  # a browser reads the backslash as a slash: //tracker.example
        "HTTPS://TRACKER.EXAMPLE/pixel.gif",
        "http:tracker.example/pixel.gif",
        " //tracker.example/pixel.gif",
        "https://user@img.example.com/pixel.gif",
    ],
)
def test_an_image_from_another_site_is_replaced_by_its_alt_text(settings, source):
    settings.MARKDOWN_IMAGE_HOSTS = ["img.example.com"]
    for text in (f"![Weekly numbers]({source}) after", f'<img src="{source}" alt="Weekly numbers"> after'):
        html = str(markdown_filter(text))
        assert "<img" not in html and "tracker" not in html, html
        assert "Weekly numbers after" in html


def test_an_image_without_alt_from_another_site_leaves_nothing():
    assert str(markdown_filter('a<img src="https://tracker.example/p.gif">b')) == "<p>ab</p>"


def test_an_alt_text_left_in_place_stays_escaped():
    html = str(markdown_filter('<img src="https://tracker.example/p.gif" alt="<script>x</script> &quot;">'))
    assert "<script" not in html and "&lt;script&gt;" in html


def test_images_on_this_site_are_kept(settings):
    settings.MARKDOWN_IMAGE_HOSTS = []
    html = str(markdown_filter("![a](/static/a.png) ![b](b.png) ![c](../c.png?size=2)"))
    assert html.count("<img") == 3
    assert 'src="/static/a.png"' in html and 'src="b.png"' in html and 'src="../c.png?size=2"' in html


def test_images_from_an_allowed_host_are_kept_and_only_from_it(settings):
    settings.MARKDOWN_IMAGE_HOSTS = ["img.example.com"]
    html = str(markdown_filter("![a](https://img.example.com/a.png) ![b](https://img.example.com.evil.example/b.png)"))
    assert '<img alt="a" src="https://img.example.com/a.png">' in html
    assert "evil" not in html and html.count("<img") == 1


def test_the_module_examples_run():
    import doctest

    from apps.web.templatetags import sprintboard

    result = doctest.testmod(sprintboard)
    assert result.attempted > 0 and result.failed == 0


def test_each_text_is_converted_on_its_own_though_the_converter_is_reused():
    """One converter per thread, reset between texts: nothing of one text reaches the next (link references,
    footnote-like stashes, fenced code), and each text's mentions are its own project's."""
    from apps.core.mentions import MentionTargets

    first = str(markdown_filter("[docs][ref]\n\n[ref]: https://example.com/docs\n\n```\ncode\n```"))
    assert 'href="https://example.com/docs"' in first and "<code>code\n</code>" in first
    second = str(markdown_filter("[docs][ref]"))
    assert "href" not in second and "[docs][ref]" in second  # the first text's reference is gone
    ana = MentionTargets("DATA", frozenset({"ana"}))
    zed = MentionTargets("OPS", frozenset({"zed"}))
    assert 'href="/p/DATA/board/?assignee=ana"' in str(markdown_filter("@ana @zed", ana))
    in_ops = str(markdown_filter("@ana @zed", zed))
    assert (
        'href="/p/OPS/board/?assignee=zed"' in in_ops and "DATA" not in in_ops and 'class="mention">@ana' not in in_ops
    )
    assert "href" not in str(markdown_filter("@ana @zed"))  # no targets: plain text


def test_a_text_seen_before_is_served_as_sanitised_for_the_settings_of_now(settings):
    """markdown_filter keeps the texts it converted last (per worker): the image hosts allowed are part of the
    key, so a changed setting is never answered from a result made under the old one."""
    from apps.web.templatetags.sprintboard import _sanitised

    text = "![chart](https://charts.example.com/c.png) ~~x~~ <script>alert(1)</script>"
    settings.MARKDOWN_IMAGE_HOSTS = []
    before = _sanitised.cache_info().hits
    assert str(markdown_filter(text)) == str(markdown_filter(text)) and "<img" not in str(markdown_filter(text))
    assert _sanitised.cache_info().hits >= before + 2
    settings.MARKDOWN_IMAGE_HOSTS = ["charts.example.com"]
    allowed = str(markdown_filter(text))
    assert '<img alt="chart" src="https://charts.example.com/c.png">' in allowed and "<script>" not in allowed
