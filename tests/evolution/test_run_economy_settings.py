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
    """Each setting: the object itself (reassignment) and a deep copy where copies compare equal (mutation)."""
    taken = {}
    for name in dir(settings):
        if name.isupper():
            value = getattr(settings, name)
            duplicate = copy.deepcopy(value)
            taken[name] = (value, duplicate if duplicate == value else None)
    return taken


def changed_since(before: dict) -> list[str]:
    after = {name for name in dir(settings) if name.isupper()}
    changed = sorted(after ^ set(before))
    for name, (value, duplicate) in before.items():
        if name in after:
            now = getattr(settings, name)
            if now is not value or (duplicate is not None and now != duplicate):
                changed.append(name)
    return changed


def test_run_economy_changes_no_setting(sandbox_enqueued):
    before = snapshot()
    call_command("run_economy", ticks=1, seed=2, judge="attention.judges:length_judge", target="HELLO", quiet=True)
    assert changed_since(before) == []
    assert PopulationStats.objects.filter(tick=1).exists() and Agent.objects.exists()
    assert sandbox_enqueued == []  # its executions ran in this process, not through Celery
