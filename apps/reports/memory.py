"""A cap on the memory one report computation may take: ``with memory_cap(megabytes): ...``.

Inside the block, the process may map at most ``megabytes`` more address space than it had when the block
began (``RLIMIT_AS``, lowered to the current size plus the cap, and put back on the way out). An allocation
past it fails at once, in the process that asked, instead of the kernel's OOM killer taking the whole pod:
Python raises ``MemoryError``, and libpq fails the query ("out of memory for query result"). Either
leaves the block as :class:`MemoryCapExceeded`, once the limit is back to what it was, so the caller
can record the failure with all the memory it needs; the objects the computation built are freed as
the exception unwinds, and the process carries on with the next task.

Why the limit is safe here: ``RLIMIT_AS`` binds the whole process, every thread, so it is set only
where one process runs one task at a time with nothing else allocating beside it: a Celery prefork
pool process (``enforce_in_this_process``, hooked to ``worker_process_init`` in ``config.celery``).
The web server, a task run eagerly, the solo and thread pools are left alone (the cap does nothing
there). Only the soft limit is lowered, so the process can raise it back; the hard limit is never
touched. It is not sticky: what the computation mapped is released when it is freed, and the next
block measures afresh from where the process then is.

The cap counts address space, not resident memory: a little more than a report truly touches, never less.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DatabaseError

try:
    import resource
except ImportError:  # pragma: no cover - not on Windows: the cap does nothing there
    resource = None  # type: ignore[assignment]

__all__ = ["MemoryCapExceeded", "enforce_in_this_process", "memory_cap"]

MEBIBYTE = 1024 * 1024
_enforced = False


class MemoryCapExceeded(Exception):
    """A computation asked for more memory than its cap."""

    def __init__(self, megabytes: int) -> None:
        self.megabytes = megabytes
        super().__init__(f"needs more than {megabytes} MB of memory")


def enforce_in_this_process(**_: object) -> None:
    """Make ``memory_cap`` bind in this process (a Celery prefork pool process: one task at a time)."""
    global _enforced
    _enforced = True


def _address_space() -> int | None:
    """This process's mapped address space in bytes (Linux's ``/proc``; None elsewhere)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _out_of_memory(exc: BaseException) -> bool:
    if isinstance(exc, MemoryError):
        return True
    # libpq, failing to allocate a result, reports it as a database error of its own: one with no SQLSTATE,
    # which tells it from the server's "out of memory" (53200, the server's own trouble, not this cap).
    return (
        isinstance(exc, DatabaseError)
        and "out of memory" in str(exc)
        and getattr(exc.__cause__, "sqlstate", None) is None
    )


@contextmanager
def memory_cap(megabytes: int) -> Iterator[None]:
    """Run the block with at most ``megabytes`` more address space (0: no cap); past it, MemoryCapExceeded."""
    size = _address_space() if megabytes > 0 and _enforced and resource is not None else None
    if size is None:
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = size + megabytes * MEBIBYTE
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    exceeded = False
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    except (MemoryError, DatabaseError) as exc:
        if not _out_of_memory(exc):
            raise
        exceeded = True
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    if exceeded:
        raise MemoryCapExceeded(megabytes)
