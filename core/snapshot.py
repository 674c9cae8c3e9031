"""Several reads that must see one state of the database, while writers keep committing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction


@contextmanager
def read_snapshot() -> Iterator[None]:
    """Run the block's reads in one read-only snapshot.

    PostgreSQL: a ``REPEATABLE READ, READ ONLY`` transaction, so every statement sees the database as of the first
    one and a writer committing meanwhile is not seen (nor waited for). SQLite: one transaction (the settings' IMMEDIATE
    mode holds the write lock, so no writer commits meanwhile). Inside a transaction the caller already opened, the
    block joins it: the caller's isolation level decides what its reads see.
    """
    if connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield
