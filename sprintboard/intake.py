"""Grouping similar stakeholder requests: "most asked for".

The method, in full (the API documentation states the same):

1. **Tokens.** A request's title is lower-cased and split on anything that is
   not a letter or a digit. Stop words ("the", "a", "please", "for", ...) and
   one-character tokens are dropped, and each token is reduced by a light
   stemmer that strips one common English suffix (``ies``→``y``, ``ing``,
   ``ed``, ``es``, ``s``, ``ly``) when at least three letters remain, so
   "dashboards", "dashboard" and "dashboarding" are one token. When the title
   gives fewer than two tokens, the detail's tokens are added.
2. **Similarity.** Two requests are similar when the Jaccard index of their
   token sets (shared tokens / all tokens) is at least ``THRESHOLD`` = 0.5.
3. **Groups.** Single-link clustering: similarity is taken transitively, so a
   group is a connected component of the "similar" graph (union-find).
4. **Order and representative.** Groups come largest first (ties: the group
   whose first request is oldest). A group's representative is the request most
   similar to the rest of its group (the highest sum of similarities; ties: the
   oldest), and the group takes its title.
5. **Channels.** Each request names the channel of every ask it stands for
   (its own and those of the requests merged into it); a group counts its asks
   per channel, most first (ties: by name).

No external service is involved; only pairs that share a token are compared,
so a queue of thousands groups in well under a second.

========================================  ============================================
name                                      what it is
========================================  ============================================
``RequestText``                           the input: id, title, detail, requesters, channels
``RequestGroup``                          a group: title, representative, ids, requesters, channels
``tokens(text)``                          the normalised token set of a text
``similarity(a, b)``                      Jaccard index of two token sets
``group_requests(items, threshold=...)``  the groups, largest first
========================================  ============================================

>>> sorted(tokens("Please add the churn dashboards for Marketing"))
['add', 'churn', 'dashboard', 'market']
>>> similarity(tokens("Churn dashboard for marketing"), tokens("Marketing churn dashboards"))
1.0
>>> groups = group_requests([
...     RequestText(1, "Churn dashboard for marketing", requesters=("ann",), channels=("web",)),
...     RequestText(2, "Export revenue to CSV", requesters=("bob",), channels=("email",)),
...     RequestText(3, "Marketing churn dashboards please", requesters=("cy",), channels=("email", "web")),
...     RequestText(4, "A churn dashboard", requesters=("ann",), channels=("email",)),
... ])
>>> [(g.title, g.count, g.requests, g.requesters) for g in groups]
[('Churn dashboard for marketing', 3, (1, 3, 4), ('ann', 'cy')), ('Export revenue to CSV', 1, (2,), ('bob',))]
>>> groups[0].channels
(('email', 2), ('web', 2))
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["STOP_WORDS", "THRESHOLD", "RequestGroup", "RequestText", "group_requests", "similarity", "tokens"]

THRESHOLD = 0.5
STOP_WORDS = frozenset(
    """a an and are as at be but by can could do for from have i in into is it its me my need needs of on or our
    please should so some that the their them there this to us want we what when which will with would you your
    get make""".split()
)
_SPLIT = re.compile(r"[^0-9a-z]+")
_SUFFIXES = (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", ""), ("ly", ""))


def _stem(token: str) -> str:
    for suffix, replacement in _SUFFIXES:
        if token.endswith(suffix) and len(token) - len(suffix) + len(replacement) >= 3:
            if suffix == "es" and not token[:-2].endswith(("sh", "ch", "x", "ss", "z")):
                continue  # "pages" -> "page" through "s", not "pag"
            if suffix == "s" and token.endswith("ss"):
                return token  # "access", "class"
            return token[: -len(suffix)] + replacement
    return token


def tokens(text: str) -> frozenset[str]:
    """The normalised tokens of a text: lower-cased, stop words and single characters dropped, stemmed."""
    words = _SPLIT.split(text.lower())
    return frozenset(_stem(w) for w in words if len(w) > 1 and w not in STOP_WORDS)


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    """The Jaccard index: shared tokens over all tokens; 0.0 when both are empty."""
    union = len(a | b)
    return len(a & b) / union if union else 0.0


@dataclass(frozen=True, slots=True)
class RequestText:
    """One open request. ``requesters`` are usernames (a request's own, and those of requests merged into it)."""

    id: int
    title: str
    detail: str = ""
    requesters: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()  # one per ask: the request's own channel and those of requests merged into it


@dataclass(frozen=True, slots=True)
class RequestGroup:
    title: str
    representative: int
    requests: tuple[int, ...]  # ascending ids
    requesters: tuple[str, ...]  # distinct, sorted
    channels: tuple[tuple[str, int], ...] = ()  # (channel, asks), most asks first, then by name

    @property
    def count(self) -> int:
        return len(self.requests)


def _request_tokens(item: RequestText) -> frozenset[str]:
    found = tokens(item.title)
    return found | tokens(item.detail) if len(found) < 2 else found


class _Components:
    def __init__(self, ids: Iterable[int]) -> None:
        self.parent = {i: i for i in ids}

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def group_requests(items: Iterable[RequestText], *, threshold: float = THRESHOLD) -> list[RequestGroup]:
    """Single-link groups of requests whose titles' token sets have a Jaccard index >= ``threshold``.

    Every request is in exactly one group (a request like no other is a group of one). Requests are
    ordered by id, which is their age.
    """
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1], not {threshold}")
    by_id = {item.id: item for item in sorted(items, key=lambda item: item.id)}
    sets = {i: _request_tokens(item) for i, item in by_id.items()}
    index: dict[str, list[int]] = defaultdict(list)
    for i, found in sets.items():
        for token in found:
            index[token].append(i)
    components = _Components(by_id)
    scores: dict[int, float] = defaultdict(float)
    for i, found in sets.items():
        candidates = {j for token in found for j in index[token] if j > i}
        for j in candidates:
            score = similarity(found, sets[j])
            if score >= threshold:
                components.union(i, j)
                scores[i] += score
                scores[j] += score
    members: dict[int, list[int]] = defaultdict(list)
    for i in by_id:
        members[components.find(i)].append(i)
    groups = []
    for ids in members.values():
        representative = max(ids, key=lambda i: (scores[i], -i))
        requesters = sorted({name for i in ids for name in by_id[i].requesters})
        channels = Counter(channel for i in ids for channel in by_id[i].channels)
        groups.append(
            RequestGroup(
                title=by_id[representative].title,
                representative=representative,
                requests=tuple(ids),
                requesters=tuple(requesters),
                channels=tuple(sorted(channels.items(), key=lambda item: (-item[1], item[0]))),
            )
        )
    groups.sort(key=lambda g: (-g.count, g.requests[0]))
    return groups
