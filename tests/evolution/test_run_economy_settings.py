"""``run_economy`` passes its choices (dispatch, judge, target, arm) explicitly: it changes no setting at run time
(issue 13). Runs one real tick in Docker against the test database."""

from __future__ import annotations

import copy

import pytest
from django.conf import settings
from django.core.management import call_command

from economy.models import Agent
from evolution.models import PopulationStats

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.docker, pytest.mark.slow]


def snapshot() -> dict:
    return {name: copy.deepcopy(getattr(settings, name)) for name in dir(settings) if name.isupper()}


def test_run_economy_changes_no_setting(sandbox_enqueued):
    before = snapshot()
    call_command("run_economy", ticks=1, seed=2, judge="attention.judges:length_judge", target="HELLO", quiet=True)
    after = snapshot()
    assert {
        k: (before.get(k), after.get(k)) for k in before.keys() | after.keys() if before.get(k) != after.get(k)
    } == {}
    assert PopulationStats.objects.filter(tick=1).exists() and Agent.objects.exists()
    assert sandbox_enqueued == []  # its executions ran in this process, not through Celery
