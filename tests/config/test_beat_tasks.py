"""Celery beat only enqueues; each tick task runs its beat slot once, however often the message arrives."""

from __future__ import annotations

import pytest
from django.conf import settings

from attention.models import AttentionTick
from attention.tasks import run_attention_tick_task
from config.celery import app
from evolution.models import PopulationStats
from evolution.tasks import life_tick
from market.models import Tick
from market.tasks import run_market_tick_task
from tests.factories import make_agent

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("task", "model"),
    [(run_market_tick_task, Tick), (run_attention_tick_task, AttentionTick), (life_tick, PopulationStats)],
)
def test_a_redelivered_tick_message_is_a_no_op(task, model, monkeypatch):
    monkeypatch.setattr("time.time", lambda: 1_800_000_000.0)  # both deliveries fall in one beat slot
    make_agent(credits=100)
    if task is life_tick:
        run_market_tick_task.apply().get()  # a life tick follows a market tick and takes its number
    first = task.apply().get()
    again = task.apply().get()  # the same slot, delivered twice (two beats, or a re-delivery)
    assert first is not None
    assert again is None
    assert model.objects.count() == 1


def test_the_life_tick_is_numbered_like_the_market_tick_it_follows(monkeypatch):
    """The dashboard showed population rows at beat slots (179560627) beside market ticks 1..88: one numbering now."""
    make_agent(credits=100)
    assert life_tick.apply().get() is None  # nothing to follow yet
    for second in (1_800_000_000.0, 1_800_000_100.0, 1_800_000_200.0):
        monkeypatch.setattr("time.time", lambda second=second: second)
        number = run_market_tick_task.apply().get()
        life_tick.apply().get()
        assert PopulationStats.objects.order_by("-tick").first().tick == number
    assert list(PopulationStats.objects.order_by("tick").values_list("tick", flat=True)) == list(
        Tick.objects.order_by("number").values_list("number", flat=True)
    )


def test_every_periodic_task_is_scheduled_on_the_ticks_queue_and_expires():
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert {"market-tick", "attention-tick", "life-tick", "sandbox-reap"} <= set(schedule)
    for entry in schedule.values():
        assert entry["task"] in app.tasks, entry["task"]
        assert entry["options"]["queue"] == "ticks"
        assert 0 < entry["options"]["expires"] <= entry["schedule"]
