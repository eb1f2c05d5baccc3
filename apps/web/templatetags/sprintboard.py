"""Template filters: ``{% load sprintboard %}``.

=====================  ==========================================================================
``markdown``           Markdown to sanitised HTML, with task lists (``- [ ]`` / ``- [x]``) as
                       disabled checkboxes and every image given an ``alt`` (empty when none);
                       an image from another site (unless in ``MARKDOWN_IMAGE_HOSTS``) is
                       replaced by its ``alt`` text
``markdown:mentions``  the same, with each ``@username`` of a project member (``mentions``, from
                       ``{% mention_targets project as mentions %}``) a link to their work on the board;
                       a mention of anyone else stays plain text
``label_text_color``   a label's colour, darkened where needed so its text reads on white (4.5:1)
``plain_widget``       a form field's input or textarea as ``{{ form.field }}`` writes it, without
                       rendering Django's widget templates (``apps.core.forms.plain_widget``)
``option_tags``        a select's ``<option>`` elements from (value, label, selected) triples
                       (``apps.core.forms.marked_options``), escaped, one line each
=====================  ==========================================================================

>>> html = str(markdown_filter("- [x] ship it"))
>>> html.startswith('<ul>\\n<li class="task-list-item"><label><input ') and html.endswith(">ship it</label></li>\\n</ul>")
True
>>> all(attribute in html for attribute in ('type="checkbox"', 'checked=""', 'disabled=""'))
True
>>> label_text_color("#16a34a")
'#12863d'
>>> print(option_tags([("", "Anyone", False), ("ana", "Ana <QA>", True)]), end="")
  <option value="">Anyone</option>
  <option value="ana" selected>Ana &lt;QA&gt;</option>
"""

from __future__ import annotations

import functools
import re
import threading
import xml.etree.ElementTree as etree
from collections.abc import Iterable
from typing import cast
from urllib.parse import urlsplit

import markdown as markdown_lib
import nh3
from django import template
from django.conf import settings
from django.forms import BoundField
from django.utils.safestring import SafeString, mark_safe
from markdown.extensions import Extension
from markdown.inlinepatterns import InlineProcessor
from markdown.treeprocessors import Treeprocessor

from apps.core.forms import plain_widget
from apps.core.markup import escaped
from apps.core.mentions import MentionTargets
from apps.projects.models import Membership
from sprintboard.mentions import MENTION

register = template.Library()

TASK_MARKER = re.compile(r"\[([ xX])\]\s+")
# An item's own text ends where its first block (a nested list, a paragraph, code) begins.
BLOCK_TAGS = frozenset({"ul", "ol", "p", "pre", "blockquote", "table", "div", "h1", "h2", "h3", "h4", "h5", "h6", "hr"})
# Checkboxes come only as task lists' disabled boxes: any <input> in the text becomes one too, and has no name.
ALLOWED_TAGS = nh3.ALLOWED_TAGS | {"input", "label"}
ALLOWED_ATTRIBUTES = {**nh3.ALLOWED_ATTRIBUTES, "input": {"checked"}}
FORCED_ATTRIBUTES = {"input": {"type": "checkbox", "disabled": ""}}
ALLOWED_CLASSES = {"li": {"task-list-item"}, "a": {"mention"}}
IMG_WITHOUT_ALT = re.compile(r"<img(?![^>]*\salt=)")
# nh3 writes < and > inside attribute values as entities, so an <img ...> of its output ends at the first ">".
IMG_TAG = re.compile(r"<img\b([^>]*)>")
ALT_VALUE = re.compile(r'\salt="([^"]*)"')
URL_IGNORED = re.compile(r"[\t\n\r]")  # browsers drop these anywhere in a URL
WHITE_TEXT_CONTRAST = 4.6  # WCAG AA asks 4.5:1 for text; a little over, for rounding


class _TaskLists(Treeprocessor):
    """``- [ ] to do`` and ``- [x] done`` (GitHub's task lists): the item's text is labelled by a checkbox."""

    def run(self, root: etree.Element) -> None:
        for item in list(root.iter("li")):
            holder = item
            if not (item.text or "").strip() and len(item) and item[0].tag == "p":
                holder = item[0]  # a loose list: the marker opens the item's first paragraph
            match = TASK_MARKER.match(holder.text or "")
            if match is not None:
                _make_task(item, holder, done=match[1] in "xX", text=(holder.text or "")[match.end() :])


def _make_task(item: etree.Element, holder: etree.Element, *, done: bool, text: str) -> None:
    item.set("class", "task-list-item")
    label = etree.Element("label")
    box = etree.SubElement(label, "input", {"type": "checkbox"})
    if done:
        box.set("checked", "")
    box.tail = text
    holder.text = None
    for child in list(holder):
        if child.tag in BLOCK_TAGS:
            break
        holder.remove(child)
        label.append(child)
    holder.insert(0, label)


class _TaskListExtension(Extension):
    def extendMarkdown(self, md: markdown_lib.Markdown) -> None:  # noqa: N802 - Python-Markdown's name
        md.treeprocessors.register(_TaskLists(md), "task_lists", 15)  # after inline markup (20)


def image_source_allowed(src: str) -> bool:
    r"""An address on this site (no scheme, no host) or on a host of ``MARKDOWN_IMAGE_HOSTS``.

    Anything else would let the image's host see who read the text, and when (a tracking pixel).

    >>> image_source_allowed("/static/diagram.png"), image_source_allowed("diagram.png")
    (True, True)
    >>> image_source_allowed("https://tracker.example/p.gif"), image_source_allowed("/\\tracker.example/p.gif")
    (False, False)
    """
    # Read as a browser would: a backslash is a slash in http(s) URLs, and "/\\host/x" is "//host/x".
    address = URL_IGNORED.sub("", src).strip().replace("\\", "/")
    try:
        parts = urlsplit(address)
    except ValueError:
        return False
    if not parts.scheme and not parts.netloc:
        return True
    return parts.scheme in {"", "http", "https"} and parts.netloc.lower() in settings.MARKDOWN_IMAGE_HOSTS


def _keep_allowed_images(element: str, attribute: str, value: str) -> str | None:
    if element == "img" and attribute == "src" and not image_source_allowed(value):
        return None
    return value


def _image_or_its_alt(match: re.Match[str]) -> str:
    """An image whose source was dropped becomes its alt text (still escaped as nh3 wrote it)."""
    if " src=" in match[1]:
        return match[0]
    alt = ALT_VALUE.search(match[1])
    return alt[1] if alt else ""


@register.simple_tag
def mention_targets(project) -> MentionTargets:
    names = Membership.objects.filter(project=project).values_list("user__username", flat=True)
    return MentionTargets(project_key=project.key, usernames=frozenset(names))


class _Mentions(InlineProcessor):
    def __init__(self, targets: MentionTargets) -> None:
        super().__init__(MENTION.pattern)
        self.targets = targets

    def handleMatch(self, m, data):  # noqa: N802 - Python-Markdown's name
        username = m.group(1)
        if username not in self.targets.usernames:
            return None, None, None
        link = etree.Element("a", {"href": self.targets.url(username), "class": "mention"})
        link.text = f"@{username}"
        return link, m.start(0), m.end(0)


class _MentionExtension(Extension):
    def __init__(self, targets: MentionTargets) -> None:
        super().__init__()
        self.targets = targets

    def extendMarkdown(self, md: markdown_lib.Markdown) -> None:  # noqa: N802 - Python-Markdown's name
        md.inlinePatterns.register(_Mentions(self.targets), "mentions", 25)


@register.filter
def person(user: object) -> str:
    """A person as every page names them: their full name, else their username; "" for nobody."""
    if user is None or not hasattr(user, "get_username"):
        return ""
    full_name = getattr(user, "get_full_name", None)  # AnonymousUser has none
    return (full_name() if full_name else "") or user.get_username()


@register.filter(name="plain_widget")
def plain_widget_filter(field: BoundField) -> SafeString:
    """``{{ form.title|plain_widget }}``: the field's input as ``{{ form.title }}`` writes it, at less cost
    (``apps.core.forms.plain_widget``)."""
    return plain_widget(field)


@register.filter(name="option_tags")
def option_tags(options: Iterable[tuple[object, object, bool]]) -> SafeString:
    """``{{ options|option_tags }}``: the ``<option>`` elements of (value, label, selected) triples, as a loop in
    the template writes them. The loop cost ~8 µs an option: 3 ms of every board page, and 7 of the backlog's,
    for a 400-member team's assignee filter."""
    return SafeString(
        "".join(
            f'  <option value="{escaped(value)}"{" selected" if selected else ""}>{escaped(label)}</option>\n'
            for value, label, selected in options
        )
    )


_converters = threading.local()


def _converter(mentions: MentionTargets | None) -> markdown_lib.Markdown:
    """This thread's Markdown converter, with or without mentions (of ``mentions``), reset for a new text.

    Building a converter (its parsers and every extension's patterns) cost more than converting a comment:
    ~0.4 ms each, so a story page re-built one per comment. One per thread, reset between texts as
    Python-Markdown asks (``Markdown.reset``: its stash, references and extensions' state)."""
    kind = "plain" if mentions is None else "mentions"
    md = getattr(_converters, kind, None)
    if md is None:
        extensions: list = ["fenced_code", "tables", _TaskListExtension()]
        if mentions is not None:
            extensions.append(_MentionExtension(mentions))
        md = markdown_lib.Markdown(extensions=extensions, output_format="html")
        setattr(_converters, kind, md)
    elif mentions is not None:
        cast(_Mentions, md.inlinePatterns["mentions"]).targets = mentions
    return md.reset()


@register.filter(name="markdown")
def markdown_filter(text: str | None, mentions: MentionTargets | None = None) -> SafeString:
    """Markdown to HTML, sanitised: scripts, event handlers and unsafe links are stripped.

    >>> str(markdown_filter("hi @ana and @zed", MentionTargets("DATA", frozenset({"ana"}))))
    '<p>hi <a class="mention" href="/p/DATA/board/?assignee=ana" rel="noopener noreferrer">@ana</a> and @zed</p>'
    """
    if not text:
        return mark_safe("")
    targets = mentions if isinstance(mentions, MentionTargets) else None
    sanitised = _sanitised(str(text), targets, frozenset(settings.MARKDOWN_IMAGE_HOSTS))
    return mark_safe(sanitised)  # noqa: S308 - sanitised by nh3 (_sanitised)


@functools.lru_cache(maxsize=512)
def _sanitised(text: str, mentions: MentionTargets | None, image_hosts: frozenset[str]) -> str:
    """``markdown_filter``'s work, kept per worker for the texts it saw last: a page shows the same description
    and comments to everyone who opens it, and converting and sanitising cost ~0.35 ms a comment. The key is
    everything the result depends on: the text, who may be mentioned (and in which project) and the image hosts
    ``image_source_allowed`` reads. At most 512 texts: a few hundred KB for a team's usual texts, ~25 MB
    at worst (20,000-character descriptions)."""
    converted = _converter(mentions).convert(text)
    clean = nh3.clean(
        converted,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        set_tag_attribute_values=FORCED_ATTRIBUTES,
        allowed_classes=ALLOWED_CLASSES,
        attribute_filter=_keep_allowed_images,
    )
    clean = IMG_TAG.sub(_image_or_its_alt, clean)
    return IMG_WITHOUT_ALT.sub('<img alt=""', clean)  # nh3 has just removed anything unsafe


def _luminance(rgb: tuple[float, ...]) -> float:
    """WCAG relative luminance of an sRGB colour with channels 0..255."""
    linear = [c / 255 / 12.92 if c / 255 <= 0.04045 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _parse_hex(color: str) -> tuple[float, float, float] | None:
    match = re.fullmatch(r"#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})", color.strip())
    if match is None:
        return None
    digits = match[1] if len(match[1]) == 6 else "".join(c * 2 for c in match[1])
    return (int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16))


@register.filter
def label_text_color(color: str | None) -> str:
    """The label's colour for its text on white: kept when it reads (4.5:1), else darkened until it does.

    >>> label_text_color("#1d4ed8")  # dark enough already
    '#1d4ed8'
    >>> label_text_color("#ff694b")  # dbt's orange, 2.8:1 on white
    '#c25039'
    >>> label_text_color("not a colour")
    '#1c2330'
    """
    rgb = _parse_hex(color or "")
    if rgb is None:
        return "#1c2330"  # the page's text colour
    scale = 1.0
    while (1.05 / (_luminance(tuple(c * scale for c in rgb)) + 0.05)) < WHITE_TEXT_CONTRAST:
        scale -= 0.02
    return "#" + "".join(f"{round(c * scale):02x}" for c in rgb)
