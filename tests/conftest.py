"""Shared fixtures. Tests talk to real services: PostgreSQL by default (DATABASE_URL), Redis and Docker where marked.

In CI (CI=true) a test whose service is missing fails; it is never skipped.
"""

from __future__ import annotations

import os

import pytest
from django.db import connection
from rest_framework.test import APIClient

from economy.services import ensure_system_accounts
from market.services import ensure_market_defaults


def pytest_configure(config: pytest.Config) -> None:
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    if os.environ.get("CI") and "postgresql" not in engine and not os.environ.get("BP_TEST_SQLITE"):
        raise pytest.UsageError(
            "CI runs the tests on PostgreSQL: set DATABASE_URL=postgres://... "
            "(or BP_TEST_SQLITE=1 for the deliberate SQLite pass)"
        )


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup):
    """pytest-django's test database; before it is dropped, the token cache's listener (a session of its own on
    it, started by the first cached lookup) is stopped."""
    yield
    from economy.token_cache import token_cache

    token_cache.stop()


@pytest.fixture(autouse=True)
def _system_accounts(request: pytest.FixtureRequest) -> None:
    """Transactional tests truncate every table afterwards; data migrations' rows must exist in each test."""
    if request.node.get_closest_marker("django_db") is None and not {"db", "transactional_db"} & set(
        request.fixturenames
    ):
        return
    request.getfixturevalue("db")
    ensure_system_accounts()
    ensure_market_defaults()


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def staff_client(client):
    """A Django test client logged in as a superuser (staff)."""
    from django.contrib.auth.models import User

    client.force_login(User.objects.create_user("op", password="pw-long-enough", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.fail("this test needs PostgreSQL (DATABASE_URL=postgres://...)")


@pytest.fixture(autouse=True)
def sandbox_enqueued(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Execution ids handed to Celery when a tick commits, recorded instead of published: transactional tests
    commit, and their ticks must not leave messages on the developer's broker. (The Celery worker test publishes
    to its own Redis database explicitly.)"""
    from sandbox import tasks

    sent: list[int] = []
    monkeypatch.setattr(tasks, "send_execution", lambda execution_id, **options: sent.append(execution_id))
    return sent


@pytest.fixture
def round_prices(db):
    """Round market prices for tests whose arithmetic is written for them: CPU 100 and memory 400 micro-credits per
    unit-second, target utilization 0.5, moving average weight 0.3 starting at 0.5 (the product's defaults, chosen
    for the economy's dynamics, are in ``market/defaults.py``)."""
    from market.models import MarketState

    for code, price in (("cpu", 100), ("memory", 400)):
        MarketState.objects.filter(resource__code=code).update(
            price=price, target_utilization=0.5, ema_alpha=0.3, utilization_ema=0.5
        )


@pytest.fixture
def flat_upkeep(settings):
    """Upkeep without demurrage and no idle deaths, for tests of other rules of the life tick."""
    settings.UPKEEP_DEMURRAGE_BP = 0
    settings.IDLE_TICKS_LIMIT = 0
    return settings
