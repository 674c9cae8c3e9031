"""The seed plan's full-loop check, on real Docker and PostgreSQL: the genesis agent runs in a container, bids and
survives; with the scripted judge a run of some dozens of ticks has births, keeps a living population, and the
ledger check passes after every tick (``EmbeddedEconomy.run_tick`` raises otherwise)."""

from __future__ import annotations

import pytest

from attention.models import HumanReward
from economy.models import Agent
from evolution.embedded import EconomyConfig, EmbeddedEconomy
from evolution.models import LifeEvent
from sandbox.docker_runner import LABEL_EXECUTION, LABEL_WORKER
from sandbox.models import Execution

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.docker, pytest.mark.slow]

TICKS = 24


@pytest.fixture
def embedded_settings(settings):
    settings.POPULATION_CAP = 6
    return settings


def test_the_economy_lives_for_dozens_of_ticks(embedded_settings, sandbox_enqueued):
    config = EconomyConfig(seed=3, target="METHINKS IT IS LIKE A WEASEL", attention_per_tick=1, parallel=2)
    economy = EmbeddedEconomy(config)
    genesis = economy.create_genesis()
    economy.start()
    try:
        reports = [economy.run_tick() for _ in range(TICKS)]
    finally:
        leftovers = economy.stop()
    assert leftovers == []
    assert sandbox_enqueued == []  # the embedded economy runs its executions itself
    # The genesis agent ran in Docker, did its work and survived its first ticks.
    first = Execution.objects.filter(agent=genesis).order_by("id").first()
    assert first is not None
    assert first.status == Execution.Status.SUCCEEDED, (first.stdout, first.stderr, first.error)
    assert first.artifact
    assert Execution.objects.filter(agent=genesis).count() >= 3
    # Births, a living population every tick, and judged work minted into credits.
    assert LifeEvent.objects.filter(kind=LifeEvent.Kind.BIRTH).count() > 1
    assert all(report.alive > 0 for report in reports)
    assert Agent.objects.filter(status=Agent.Status.ALIVE, generation__gte=1).exists()
    assert HumanReward.objects.filter(score__isnull=False).exists()
    assert Agent.objects.filter(status=Agent.Status.ALIVE).count() <= embedded_settings.POPULATION_CAP
    mine = {"label": [LABEL_EXECUTION, f"{LABEL_WORKER}={economy.worker.name}"]}  # other runs may share dockerd
    assert not economy.docker.containers.list(all=True, filters=mine)
