"""The PostgreSQL backend's per-request health check (core.postgresql): no round trip on a quiet connection, and a
connection the server dropped is still replaced before the request uses it."""

from __future__ import annotations

import time

import psycopg
import pytest
from django.db import connection
from django.db.backends.postgresql.base import DatabaseWrapper as DjangoWrapper

from core.postgresql.base import quiet

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def next_request() -> None:
    """What Django does between two requests with a persistent connection (request_started/finished)."""
    connection.close_if_unusable_or_obsolete()
    assert connection.connection is not None and not connection.health_check_done


@pytest.fixture
def round_trips(postgres_only, monkeypatch):
    """Calls of Django's own round-trip check (``SELECT 1``), counted; it still runs."""
    calls = []
    original = DjangoWrapper.is_usable

    def counted(self):
        calls.append(1)
        return original(self)

    monkeypatch.setattr(DjangoWrapper, "is_usable", counted)
    return calls


def test_a_quiet_connection_is_checked_without_a_round_trip(round_trips):
    assert connection.settings_dict["CONN_HEALTH_CHECKS"] and connection.vendor == "postgresql"
    first = backend_pid()
    for _ in range(3):
        next_request()
        assert backend_pid() == first  # the same connection, kept
    assert round_trips == []


def test_a_connection_the_server_dropped_is_replaced_before_use(round_trips):
    dropped = backend_pid()
    with psycopg.connect(**{**connection.get_connection_params(), "autocommit": True}) as other:
        assert other.execute("SELECT pg_terminate_backend(%s)", [dropped]).fetchone() == (True,)
    deadline = time.monotonic() + 5
    while quiet(connection.connection):  # the server's goodbye reaches the socket
        assert time.monotonic() < deadline, "the dropped connection never became readable"
        time.sleep(0.01)
    next_request()
    assert backend_pid() != dropped  # no error: Django's own check ran and a new connection answered
    assert round_trips == [1]
