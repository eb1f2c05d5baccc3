"""Search text: the words of a query, story keys, and highlighted excerpts as safe HTML.

PostgreSQL finds and ranks the matches (``websearch_to_tsquery``, ``ts_rank``) and marks them in an
excerpt (``ts_headline``) with the two private-use characters ``START`` and ``STOP``; the embedded
SQLite has no full-text search, so its excerpts are cut here. Either way the text is escaped here, and
only the markers become ``<mark>`` tags: nothing a story's author wrote ever reaches a page as HTML.

| function | what it gives |
|---|---|
| ``words(text)`` | the words a query asks for, lowercased (negated words and ``or`` left out) |
| ``story_key(text)`` | ``"DATA-12"`` when the text is exactly a story key, in any case; else ``None`` |
| ``marked(text)`` | the text escaped, each ``START``…``STOP`` pair a ``<mark>`` |
| ``mark_words(text, words)`` | the text escaped, each word beginning with a query word in ``<mark>`` |
| ``snippet(text, words, width=...)`` | an escaped excerpt of ``width`` words around the first match, matches marked |

>>> words('Revenue "churn model" -draft OR dashboards')
['revenue', 'churn', 'model', 'dashboards']
>>> story_key(" data-12 ")
'DATA-12'
>>> story_key("data 12") is None
True
>>> marked("<b>" + START + "revenue" + STOP + "</b>")
'&lt;b&gt;<mark>revenue</mark>&lt;/b&gt;'
>>> mark_words("Revenue dashboards & <script>", ["dashboard"])
'Revenue <mark>dashboards</mark> &amp; &lt;script&gt;'
>>> snippet("one two three four five six seven", ["five"], width=3)
'… four <mark>five</mark> six …'
"""

from __future__ import annotations

import html
import re

__all__ = ["START", "STOP", "mark_words", "marked", "snippet", "story_key", "words"]

START = "\ue000"
STOP = "\ue001"

_WORD = re.compile(r"-?[^\W_][\w-]*", re.UNICODE)
_KEY = re.compile(r"\s*([A-Za-z]{2,10})-([0-9]{1,9})\s*")


def words(text: str) -> list[str]:
    """The words a query asks for, in order and without repeats: what the SQLite fallback looks for.

    >>> words("dbt -legacy or pipeline pipeline")
    ['dbt', 'pipeline']
    """
    found: list[str] = []
    for token in _WORD.findall(text.lower()):
        if token.startswith("-") or token == "or" or token in found:
            continue
        found.append(token)
    return found


def story_key(text: str) -> str | None:
    """The story key ``text`` is, upper-cased, or None.

    >>> story_key("Data-007")
    'DATA-7'
    """
    match = _KEY.fullmatch(text)
    if match is None:
        return None
    return f"{match.group(1).upper()}-{int(match.group(2))}"


def marked(text: str) -> str:
    """``text`` escaped as HTML, with each ``START``…``STOP`` pair turned into ``<mark>``…``</mark>``.

    A marker without its partner is dropped, so the tags always balance.

    >>> marked(STOP + "a" + START + "b")
    'ab'
    """
    out: list[str] = []
    rest = text
    while rest:
        start = rest.find(START)
        if start < 0:
            out.append(html.escape(rest.replace(STOP, "")))
            break
        stop = rest.find(STOP, start + 1)
        if stop < 0:
            out.append(html.escape(rest.replace(START, "").replace(STOP, "")))
            break
        inner = rest[start + 1 : stop].replace(START, "")
        out.append(html.escape(rest[:start].replace(STOP, "")))
        out.append(f"<mark>{html.escape(inner)}</mark>")
        rest = rest[stop + 1 :]
    return "".join(out)


def _matches(token: str, query: list[str]) -> bool:
    bare = re.sub(r"^\W+|\W+$", "", token.lower())
    return bool(bare) and any(bare.startswith(word) for word in query)


def mark_words(text: str, query: list[str]) -> str:
    """``text`` escaped, each whitespace-separated word that begins with one of ``query`` marked.

    >>> mark_words("CRM feed", [])
    'CRM feed'
    """
    parts = re.split(r"(\s+)", text)
    return "".join(
        f"<mark>{html.escape(part)}</mark>" if _matches(part, query) else html.escape(part) for part in parts
    )


def snippet(text: str, query: list[str], *, width: int = 24) -> str:
    """An excerpt of ``width`` words of ``text`` around the first word that matches ``query``, escaped,
    matches marked, "…" where words were cut; the opening words when nothing matches.

    >>> snippet("a b c", ["z"], width=2)
    'a b …'
    """
    tokens = text.split()
    first = next((i for i, token in enumerate(tokens) if _matches(token, query)), 0)
    begin = max(0, min(first - width // 2, len(tokens) - width))
    shown = tokens[begin : begin + width]
    body = mark_words(" ".join(shown), query)
    return ("… " if begin > 0 else "") + body + (" …" if begin + width < len(tokens) else "")
