"""Django's PostgreSQL backend, whose per-request health check reads the socket instead of asking the server.

With ``CONN_HEALTH_CHECKS``, Django checks a kept connection at the start of every request by sending
``SELECT 1``: one more round trip in each request, the first thing every board poll and every API call
waited for. Whether the server has closed an idle connection (a restart, ``pg_terminate_backend``,
``idle_session_timeout``, a proxy's timeout) can be told without asking: the server writes its farewell
(an error, then the end of the stream) on the socket, so the socket of a connection that is no longer
usable has something to read while the client waits for nothing. Only then, or when the connection is not
idle, is the server asked, as Django does. A server that vanished without a word (a host gone, a cable
cut) is found by the request's first statement either way: ``SELECT 1`` would have waited on it as long.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base
from psycopg import pq

__all__ = ["DatabaseWrapper"]


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None or connection.closed:
            return False
        pgconn = connection.pgconn
        if pgconn.transaction_status != pq.TransactionStatus.IDLE or not _quiet(pgconn.socket):
            return super().is_usable()  # something to read, or a transaction open: ask the server
        return True


def _quiet(fd: int) -> bool:
    """Nothing to read on an idle connection's socket: the server has sent nothing since its last answer."""
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLPRI)
    return not poller.poll(0)
