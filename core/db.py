"""Hot statements on PostgreSQL: run as server-side prepared statements, without the ORM's per-call compilation."""

from __future__ import annotations

import psycopg
from django.db import connection


def fetch_one_prepared(sql: str, params: dict) -> tuple | None:
    """Run ``sql`` (``%(name)s`` placeholders) as a server-side prepared statement on the default connection and
    return its first row. Django's own cursors bind on the client, so the server would parse and plan the statement
    on every call, and a queryset pays the ORM's compilation (most of a simple read's cost). The connection's health
    check runs first, as before any Django cursor; errors come out as Django's database exceptions."""
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, prepare=True)
        return cursor.fetchone()
