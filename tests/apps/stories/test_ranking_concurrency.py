"""Product owners reordering one backlog at the same time, on the real PostgreSQL.

Moves lock the project row, so they commit one after another; the event log's sequence numbers
give that order. Replaying every move in that order on a plain list must give exactly the order
the database ends with: no lost move, no duplicate rank, no order that no serial run would give.
"""

from __future__ import annotations

import random
import threading

import pytest
from django.db import connection

from apps.stories import selectors, services
from apps.stories.models import Story, StoryEvent

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 4
MOVES_PER_THREAD = 30
STORIES = 24


def backlog_ids(project) -> list[int]:
    return list(
        Story.objects.filter(project=project)
        .filter(selectors.backlog_filter())
        .order_by("rank")
        .values_list("pk", flat=True)
    )


def apply(order: list[int], story: int, how: str, anchor: int | None) -> None:
    """The reference: what a move means on a plain list."""
    order.remove(story)
    if how == "top":
        order.insert(0, story)
    elif how == "bottom":
        order.append(story)
    elif how == "before":
        order.insert(order.index(anchor), story)
    else:
        order.insert(order.index(anchor) + 1, story)


def test_concurrent_moves_equal_some_serial_order(project, people):
    ids = [services.story_create(project=project, actor=people["owner"], title=f"S{i}").pk for i in range(STORIES)]
    initial = backlog_ids(project)
    # Each thread owns a disjoint set of stories to move (so the move that wrote a story's latest rank event is
    # known), but anchors on any story: the anchors move under its feet.
    owned = [ids[i::THREADS] for i in range(THREADS)]
    done: list[tuple[int, int, str, int | None]] = []  # (seq, story, how, anchor)
    lock = threading.Lock()
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def work(index: int) -> None:
        rng = random.Random(index)
        actor = people["owner"] if index % 2 else people["admin"]
        try:
            barrier.wait()
            for _ in range(MOVES_PER_THREAD):
                story = Story.objects.get(pk=rng.choice(owned[index]))
                # Mostly "just below the first story": the gap that exhausts fastest, so rebalances happen too.
                how = rng.choice(["top", "bottom", "before", "after", "after", "after"])
                anchor = None
                if how in ("before", "after"):
                    anchor_id = ids[0] if how == "after" and rng.random() < 0.7 else rng.choice(ids)
                    if anchor_id == story.pk:
                        continue
                    anchor = Story.objects.get(pk=anchor_id)
                placement = services.Placement(position=how) if anchor is None else services.Placement(**{how: anchor})
                version = story.version
                moved = services.story_move(story=story, actor=actor, placement=placement)
                if moved.version == version:
                    continue  # already there: a no-op in any serial order
                seq = (
                    StoryEvent.objects.filter(story=moved, kind="rank")
                    .order_by("-seq")
                    .values_list("seq", flat=True)
                    .first()
                )
                with lock:
                    done.append((seq, story.pk, how, anchor.pk if anchor else None))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors, errors
    assert len(done) > THREADS * MOVES_PER_THREAD // 2
    reference = list(initial)
    for _, story, how, anchor in sorted(done):
        apply(reference, story, how, anchor)
    assert backlog_ids(project) == reference
    ranks = list(Story.objects.filter(project=project).values_list("rank", flat=True))
    assert len(set(ranks)) == len(ranks) == STORIES
    rank_events = StoryEvent.objects.filter(project=project, kind="rank").count()
    assert rank_events == len(done), "every move that changed something wrote exactly one rank event"
    seqs = list(StoryEvent.objects.filter(project=project).order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))


def test_two_owners_moving_the_same_story_with_its_version_one_wins(project, people):
    first, second, third = (services.story_create(project=project, actor=people["owner"], title=t) for t in "ABC")
    results: list = [None, None]
    barrier = threading.Barrier(2)

    def work(index: int) -> None:
        try:
            story = Story.objects.get(pk=third.pk)
            anchor = Story.objects.get(pk=(first, second)[index].pk)
            barrier.wait()
            results[index] = services.story_move(
                story=story, actor=people["owner"], placement=services.Placement(before=anchor), expected_version=1
            ).version
        except Exception as exc:  # noqa: BLE001
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(type(r).__name__ for r in results) == ["StaleVersion", "int"]
    assert StoryEvent.objects.filter(kind="rank").count() == 1
