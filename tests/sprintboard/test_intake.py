"""Grouping similar requests: tokens, Jaccard threshold, single-link groups, order and representative."""

from __future__ import annotations

import doctest
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sprintboard import intake
from sprintboard.intake import THRESHOLD, RequestText, group_requests, similarity, tokens


def test_module_examples_run():
    result = doctest.testmod(intake)
    assert result.attempted > 0 and result.failed == 0


def test_tokens_ignore_case_punctuation_stop_words_and_plural_endings():
    assert tokens("Dashboards for the SALES team!") == tokens("sales team dashboard")
    assert tokens("Access to the classes") == {"access", "class"}
    assert tokens("Stories and queries") == {"story", "query"}
    assert tokens("") == frozenset()


def test_similarity_is_jaccard():
    assert similarity(frozenset("ab"), frozenset("bc")) == pytest.approx(1 / 3)
    assert similarity(frozenset(), frozenset()) == 0.0


def test_the_threshold_is_inclusive():
    # {revenue, region} vs {revenue, country}: 1/3 -> apart; {revenue, region, sales} vs {revenue, region}: 2/3 -> together.
    apart = group_requests([RequestText(1, "revenue region"), RequestText(2, "revenue country")])
    together = group_requests([RequestText(1, "revenue region sales"), RequestText(2, "revenue region")])
    assert [g.count for g in apart] == [1, 1] and [g.count for g in together] == [2]
    exactly_half = group_requests([RequestText(1, "alpha beta"), RequestText(2, "alpha beta gamma delta")])
    assert THRESHOLD == 0.5 and [g.count for g in exactly_half] == [2]


def test_single_link_joins_chains():
    # 1~2 and 2~3 but not 1~3: one group of three.
    items = [
        RequestText(1, "alpha beta gamma"),
        RequestText(2, "beta gamma delta"),
        RequestText(3, "gamma delta epsilon"),
    ]
    assert similarity(tokens(items[0].title), tokens(items[2].title)) < THRESHOLD
    (group,) = group_requests(items)
    assert group.requests == (1, 2, 3) and group.representative == 2 and group.title == "beta gamma delta"


def test_groups_come_largest_first_then_oldest_and_requesters_are_distinct():
    items = [
        RequestText(5, "Export to CSV", requesters=("ann",)),
        RequestText(1, "Dashboard of churn", requesters=("bob",)),
        RequestText(7, "Export to Excel", requesters=("cy",)),
        RequestText(3, "Churn dashboard", requesters=("bob", "dee")),
        RequestText(9, "Churn dashboards", requesters=("ann",)),
        RequestText(2, "Data quality alert", requesters=("eve",)),
    ]
    groups = group_requests(items)
    assert [(g.requests, g.requesters) for g in groups] == [
        ((1, 3, 9), ("ann", "bob", "dee")),
        ((2,), ("eve",)),
        ((5,), ("ann",)),
        ((7,), ("cy",)),
    ]


def test_a_short_title_borrows_the_detail():
    groups = group_requests(
        [RequestText(1, "Churn", "dashboard for marketing"), RequestText(2, "Churn", "marketing dashboard")]
    )
    assert [g.count for g in groups] == [2]


def test_a_bad_threshold_is_refused():
    with pytest.raises(ValueError, match="threshold"):
        group_requests([], threshold=0)


words = st.sampled_from(
    ["churn", "dashboard", "revenue", "export", "csv", "model", "pipeline", "alert", "sales", "region"]
)


@settings(max_examples=50, deadline=None)
@given(titles=st.lists(st.lists(words, min_size=1, max_size=4).map(" ".join), max_size=30))
def test_every_request_is_in_exactly_one_group_and_similar_pairs_share_one(titles):
    items = [RequestText(i + 1, title) for i, title in enumerate(titles)]
    groups = group_requests(items)
    ids = [i for g in groups for i in g.requests]
    assert sorted(ids) == [item.id for item in items]
    where = {i: n for n, g in enumerate(groups) for i in g.requests}
    for a in items:
        for b in items:
            if similarity(tokens(a.title), tokens(b.title)) >= THRESHOLD:
                assert where[a.id] == where[b.id]
    assert [g.count for g in groups] == sorted((g.count for g in groups), reverse=True)


def test_two_thousand_requests_group_quickly():
    vocabulary = [f"word{n}" for n in range(400)]
    items = [RequestText(i, " ".join(vocabulary[(i * k) % 400] for k in (1, 7, 13))) for i in range(2000)]
    began = time.perf_counter()
    group_requests(items)
    assert time.perf_counter() - began < 2.0
