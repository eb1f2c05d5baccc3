"""A story's writer locks its project and then the story in ONE statement (``STORY_LOCK``): the order holds.

Every writer locks the project's row first. Sprint, epic and label services lock the project alone and then
the stories they rewrite; the story services lock both with ``FOR UPDATE OF t1, t0``. If that statement took
the story's lock before the project's, it would hold the story while waiting for the project, and a writer
holding the project and wanting the story would deadlock with it.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from apps.stories import services
from apps.stories.models import Story
from apps.stories.services.events import STORY_LOCK, lock_project

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _waiting_for_a_lock(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return row is not None and row[0] == "Lock"


class Waiter:
    """``work()`` on a connection of its own in a thread, started while this test holds the project's lock;
    ``wait_until_blocked()`` returns once that connection waits for a lock."""

    def __init__(self, work) -> None:
        self.pid: int | None = None
        self.result, self.error = None, None
        self.started, self.done = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._run, args=(work,))
        self.thread.start()

    def _run(self, work) -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                self.pid = cursor.fetchone()[0]
            self.started.set()
            self.result = work()
        except Exception as exc:  # noqa: BLE001 - asserted on by finish()
            self.error = exc
        finally:
            connection.close()
            self.done.set()

    def wait_until_blocked(self) -> None:
        assert self.started.wait(10)
        deadline = time.monotonic() + 10
        while not _waiting_for_a_lock(self.pid):
            assert time.monotonic() < deadline, "the other writer never waited for a lock"
            time.sleep(0.01)

    def finish(self):
        assert self.done.wait(10)
        self.thread.join()
        assert self.error is None, self.error
        return self.result


def test_one_statement_locks_the_project_then_the_story(project, people):
    story = services.story_create(project=project, actor=people["owner"], title="Orders")
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        locked = STORY_LOCK.get(story.pk)
    [sql] = [query["sql"] for query in queries if query["sql"].startswith("SELECT")]
    assert sql.endswith("FOR UPDATE OF t1, t0") and 'INNER JOIN "projects_project" t1' in sql
    assert locked.project.pk == project.pk
    assert locked.project.last_event_seq == type(project).objects.get(pk=project.pk).last_event_seq == 1


def test_a_story_writer_waiting_for_the_project_holds_no_lock_on_the_story(project, people):
    story = services.story_create(project=project, actor=people["owner"], title="Orders")
    with transaction.atomic():
        lock_project(project.pk, None)  # as a sprint's or a label's writer does, before the stories
        writer = Waiter(lambda: services.story_estimate(story=story, points=3, actor=people["owner"]))
        writer.wait_until_blocked()
        # The writer waits for the project; the story is still free: this holder can lock it without waiting.
        assert list(Story.objects.select_for_update(nowait=True).filter(pk=story.pk).values_list("pk", flat=True))
    assert writer.finish().points == 3


@pytest.mark.tampers_log  # the change is written under the story services' feet, as a bare UPDATE
def test_a_story_changed_while_its_writer_waited_is_read_as_changed_with_its_related_rows(project, people, states):
    """PostgreSQL rechecks a locked row that changed while the statement waited against its first reading of the
    rows it joined (EvalPlanQual): the story's new state found no row, and the writer saw a story with no state."""
    story = services.story_create(project=project, actor=people["owner"], title="Orders")

    def read() -> tuple:
        with transaction.atomic():
            locked = STORY_LOCK.get(story.pk)
            return locked.state_id, locked.state and locked.state.pk, locked.project.last_event_seq

    moved_to = states["In progress"]
    with transaction.atomic():
        lock_project(project.pk, None)
        reader = Waiter(read)
        reader.wait_until_blocked()
        Story.objects.filter(pk=story.pk).update(state=moved_to)
        type(project).objects.filter(pk=project.pk).update(last_event_seq=41)
    assert reader.finish() == (moved_to.pk, moved_to.pk, 41)
