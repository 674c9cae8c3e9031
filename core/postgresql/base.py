"""Django's PostgreSQL backend (``DATABASES["default"]["ENGINE"] = "core.postgresql"``) whose per-request health
check (``CONN_HEALTH_CHECKS``) costs no round trip while the connection is quiet.

Django checks a reused connection before its first statement in each request with ``SELECT 1``: one more round
trip for every request that reads anything, a third of a balance read's statements. A connection the server has
dropped (a restart, ``pg_terminate_backend``, ``idle_session_timeout``) is told so: the server sends its FATAL error
and closes the socket, which then polls readable; an idle connection of ours is otherwise silent. So the check
polls the socket without waiting: nothing to read means the connection is as we left it, and anything to read
(the server's goodbye, a notice) gets Django's own ``SELECT 1``, which replaces a dead connection before the
request uses it. The check after a request's database error (``errors_occurred``) stays Django's round trip.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base


def quiet(connection) -> bool:
    """True when the idle psycopg ``connection`` is open and has nothing waiting to be read."""
    if connection.closed or connection.pgconn.status != base.Database.pq.ConnStatus.OK:
        return False
    try:
        poller = select.poll()
        poller.register(connection.fileno(), select.POLLIN | select.POLLPRI)
        return not poller.poll(0)
    except (OSError, ValueError, base.Database.Error):
        return False


class DatabaseWrapper(base.DatabaseWrapper):
    def close_if_health_check_failed(self) -> None:
        if (
            self.connection is not None
            and self.health_check_enabled
            and not self.health_check_done
            and not self.pool
            and quiet(self.connection)
        ):
            self.health_check_done = True
            return
        super().close_if_health_check_failed()
