"""Concurrent writers on the real PostgreSQL: no duplicate keys, ranks or sequence numbers, no lost update."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from apps.core.errors import StaleVersion
from apps.stories import services
from apps.stories.models import Story, StoryEvent

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_in_threads(count: int, work) -> list:
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def target(index: int) -> None:
        try:
            barrier.wait()
            results[index] = work(index)
        except Exception as exc:  # noqa: BLE001 - collected and asserted on below
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_concurrent_creates_get_distinct_keys_and_a_gapless_event_sequence(project, people):
    results = run_in_threads(
        8, lambda i: services.story_create(project=project, actor=people["member"], title=f"Parallel {i}").key
    )
    assert sorted(results, key=lambda k: int(k.split("-")[1])) == [f"DATA-{n}" for n in range(1, 9)]
    seqs = list(StoryEvent.objects.filter(project=project).order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, 9))
    ranks = list(Story.objects.filter(project=project).values_list("rank", flat=True))
    assert len(set(ranks)) == 8


def test_concurrent_edits_of_one_version_let_exactly_one_win(project, people):
    story = services.story_create(project=project, actor=people["member"], title="Contended")

    def edit(index: int):
        fresh = Story.objects.get(pk=story.pk)
        return services.story_update(
            story=fresh, actor=people["member"], expected_version=1, title=f"Edit {index}"
        ).title

    results = run_in_threads(6, edit)
    winners = [r for r in results if isinstance(r, str)]
    assert len(winners) == 1
    assert all(isinstance(r, StaleVersion) for r in results if not isinstance(r, str))
    story.refresh_from_db()
    assert story.title == winners[0] and story.version == 2
