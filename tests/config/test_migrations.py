"""Each app's history is one squashed migration: an empty database migrates to the end with the data migrations'
rows on PostgreSQL and SQLite, and a database that applied the replaced migrations has nothing left to do.

Each case runs `manage.py migrate` in a child process against a database of its own (never the test database)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db.migrations.loader import MigrationLoader

from market.defaults import RESOURCES

ROOT = Path(__file__).resolve().parents[2]
OUR_APPS = ("economy", "market", "sandbox", "attention", "evolution")


def manage(database_url: str, *args: str) -> str:
    env = {**os.environ, "DATABASE_URL": database_url}
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


class Database:
    """A fresh database reachable by URL, queried with the driver's own connection."""

    def __init__(self, url: str, connect) -> None:
        self.url = url
        self.connect = connect

    def rows(self, sql: str) -> list[tuple]:
        with closing(self.connect()) as conn:
            return [tuple(row) for row in conn.execute(sql).fetchall()]

    def execute(self, sql: str, params: tuple = ()) -> None:
        with closing(self.connect()) as conn:
            conn.execute(sql.replace("%s", "?") if isinstance(conn, sqlite3.Connection) else sql, params)
            conn.commit()


def postgres_server() -> dict:
    db = settings.DATABASES["default"]
    if "postgresql" not in db["ENGINE"]:
        pytest.fail("this test needs PostgreSQL (DATABASE_URL=postgres://...)")
    return {
        "host": db["HOST"] or "127.0.0.1",
        "port": db["PORT"] or 5432,
        "user": db["USER"],
        "password": db["PASSWORD"] or None,
    }


@pytest.fixture(params=[pytest.param("postgresql", marks=pytest.mark.postgres), "sqlite"])
def fresh_database(request, tmp_path) -> Iterator[Database]:
    if request.param == "sqlite":
        path = tmp_path / "migrations.sqlite3"
        yield Database(f"sqlite:///{path}", lambda: sqlite3.connect(path))
        return
    server = postgres_server()
    name = f"bp_migrations_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    auth = server["user"] + (f":{server['password']}" if server["password"] else "")
    try:
        yield Database(
            f"postgres://{auth}@{server['host']}:{server['port']}/{name}",
            lambda: psycopg.connect(dbname=name, **server),
        )
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def squashed_migrations() -> dict[tuple[str, str], list[tuple[str, str]]]:
    """Our apps' migrations on disk and what each replaces (from the files, not from any database)."""
    loader = MigrationLoader(None, ignore_no_migrations=True, replace_migrations=False)
    return {key: list(m.replaces) for key, m in loader.disk_migrations.items() if key[0] in OUR_APPS}


def test_each_app_has_one_migration_replacing_its_history():
    migrations = squashed_migrations()
    assert sorted(app for app, _ in migrations) == sorted(OUR_APPS)
    assert all(replaced for replaced in migrations.values())


def test_an_empty_database_migrates_to_the_end_with_the_data_migrations_rows(fresh_database):
    manage(fresh_database.url, "migrate", "--noinput", "-v0")

    assert fresh_database.rows("SELECT id, system, balance FROM economy_account ORDER BY id") == [
        (-3, "escrow", 0),
        (-2, "treasury", 0),
        (-1, "mint", 0),
    ]
    assert fresh_database.rows(
        "SELECT r.code, s.price, s.floor, s.ceiling FROM market_marketstate s "
        "JOIN market_resourcetype r ON r.id = s.resource_id ORDER BY r.code"
    ) == sorted((code, price, floor, ceiling) for code, _name, _unit, price, floor, ceiling in RESOURCES)
    assert fresh_database.rows("SELECT id FROM market_marketclock") == [(1,)]
    assert fresh_database.rows("SELECT id, price, floor, ceiling FROM attention_attentionstate") == [
        (1, settings.ATTENTION_RESERVE_PRICE, settings.ATTENTION_PRICE_FLOOR, settings.ATTENTION_PRICE_CEILING)
    ]
    assert fresh_database.rows(
        "SELECT g.name, p.codename FROM auth_group g JOIN auth_group_permissions gp ON gp.group_id = g.id "
        "JOIN auth_permission p ON p.id = gp.permission_id"
    ) == [("judges", "view_humanreward")]
    if fresh_database.url.startswith("postgres"):
        assert sorted(
            fresh_database.rows(
                "SELECT relname, reloptions FROM pg_class WHERE relname IN ('economy_hold', 'market_bid')"
            )
        ) == [("economy_hold", ["fillfactor=50"]), ("market_bid", ["fillfactor=50"])]


def test_a_database_that_applied_the_replaced_migrations_has_nothing_to_migrate(fresh_database):
    """The upgrade path: a database migrated by the previous release (its history recorded under the replaced
    names, the same schema) records the squashed migrations as applied and runs nothing."""
    manage(fresh_database.url, "migrate", "--noinput", "-v0")
    for (app, name), replaced in squashed_migrations().items():
        fresh_database.execute("DELETE FROM django_migrations WHERE app = %s AND name = %s", (app, name))
        for old_app, old_name in replaced:
            fresh_database.execute(
                "INSERT INTO django_migrations (app, name, applied) VALUES (%s, %s, CURRENT_TIMESTAMP)",
                (old_app, old_name),
            )

    assert "No migrations to apply." in manage(fresh_database.url, "migrate", "--noinput")
    shown = manage(fresh_database.url, "showmigrations", *OUR_APPS)
    assert "[ ]" not in shown
    assert shown.count("[X]") == len(OUR_APPS)
    recorded = set(fresh_database.rows("SELECT app, name FROM django_migrations"))
    assert set(squashed_migrations()) <= recorded
