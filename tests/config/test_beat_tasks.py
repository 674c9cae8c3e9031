"""Celery beat only enqueues; each tick task runs its beat slot once, however often the message arrives."""

from __future__ import annotations

import time
from datetime import datetime
from unittest import mock

import pytest
from celery.beat import Scheduler
from django.conf import settings

from attention.models import AttentionTick
from attention.tasks import run_attention_tick_task
from config.celery import app
from core.queues import Queue
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


def _beat_messages(at: float) -> dict[str, tuple[dict, dict, str, float]]:
    """Run celery's own beat scheduler once over the settings' schedule at time ``at``, publishing through a real
    kombu transport (in memory, so nothing reaches a developer's broker), and read back what a worker consuming the
    ticks queue receives: {task name: (kwargs, headers, queue, the real time it was published)}."""
    received: dict[str, tuple[dict, dict, str, float]] = {}
    published_at: dict[str, float] = {}
    with app.connection_for_write("memory://") as connection:
        queue = connection.SimpleQueue(Queue.TICKS.value)  # declared before beat publishes, like a running worker
        scheduler = Scheduler(app=app, lazy=True)
        scheduler.setup_schedule()
        with app.producer_or_acquire(app.amqp.Producer(connection)) as producer:
            for entry in scheduler.schedule.values():
                if entry.name in settings.CELERY_BEAT_SCHEDULE:
                    published_at[entry.task] = time.time()
                    with mock.patch("time.time", return_value=at):
                        scheduler.apply_entry(entry, producer=producer)
        while True:
            try:
                message = queue.get(block=False)
            except queue.Empty:
                break
            _args, kwargs, _embed = message.payload
            routing_key = message.delivery_info["routing_key"]
            name = message.headers["task"]
            received[name] = (kwargs, message.headers, routing_key, published_at[name])
            message.ack()
        queue.close()
    return received


def test_beat_sends_every_periodic_task_to_the_ticks_workers_and_a_late_tick_still_runs_its_slot(monkeypatch):
    """What beat publishes is what the ticks worker consumes: every periodic task arrives on the ticks queue, is
    registered, expires within its period, and a tick message run late (still before it expires) runs the slot it
    was scheduled for; the same message again changes nothing."""
    make_agent(credits=100)
    sent_at = 1_800_000_000.0 - 0.5  # just before a slot boundary of every period
    received = _beat_messages(sent_at)
    assert set(received) == {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"market.run_tick", "attention.run_tick", "evolution.life_tick", "sandbox.reap"} <= set(received)
    for name, (_kwargs, headers, routing_key, published_at) in received.items():
        assert name in app.tasks
        assert routing_key == Queue.TICKS
        expires = datetime.fromisoformat(headers["expires"]).timestamp()
        period = next(e["schedule"] for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == name)
        assert 0 < expires - published_at <= period + 1  # dropped, not run, once its period is over
    monkeypatch.setattr("time.time", lambda: sent_at + 2)  # the worker runs them two seconds late: the next slot
    for name, model, period in [
        ("market.run_tick", Tick, settings.MARKET_TICK_SECONDS),
        ("attention.run_tick", AttentionTick, settings.ATTENTION_TICK_SECONDS),
    ]:
        kwargs = received[name][0]
        assert app.tasks[name].apply(kwargs=kwargs).get() is not None
        assert app.tasks[name].apply(kwargs=kwargs).get() is None  # a re-delivery of the same message
        assert list(model.objects.values_list("slot", flat=True)) == [int(sent_at // period)]
    life = app.tasks["evolution.life_tick"]
    assert life.apply(kwargs=received["evolution.life_tick"][0]).get() is not None  # follows the market tick
    assert life.apply(kwargs=received["evolution.life_tick"][0]).get() is None
    assert list(PopulationStats.objects.values_list("tick", flat=True)) == list(
        Tick.objects.values_list("number", flat=True)
    )


@pytest.mark.parametrize(
    ("task", "model", "period"),
    [
        (run_market_tick_task, Tick, settings.MARKET_TICK_SECONDS),
        (run_attention_tick_task, AttentionTick, settings.ATTENTION_TICK_SECONDS),
    ],
)
def test_a_late_message_runs_the_slot_beat_scheduled_not_the_next(task, model, period, monkeypatch):
    """Issue 9, finding 9: the slot came from the clock when the task ran, so a message beat sent at the end of one
    slot and delivered in the next took the next slot (and the next slot's own message then did nothing)."""
    scheduled_at = 1_800_000_000.0 - 0.5  # half a second before a slot boundary of every period
    monkeypatch.setattr("time.time", lambda: scheduled_at + 2)  # delivered two seconds late: the next slot
    task.apply(kwargs={"scheduled_at": scheduled_at}).get()
    assert list(model.objects.values_list("slot", flat=True)) == [int(scheduled_at // period)]


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
