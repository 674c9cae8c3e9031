"""The one beat schedule, built here from the periods in settings.

Every entry goes to the ``ticks`` queue and expires after its period (a message older than that is dropped, never
run late and twice). The market and attention tick entries carry ``scheduled_at``, the time beat sent them
(evaluated per message by ``BeatLazyFunc``), from which the task takes its beat slot (``core.queues.beat_slot``).
The life tick needs none: it takes the number of the latest market tick.
"""

from __future__ import annotations

import time

from celery.beat import BeatLazyFunc

from core.queues import Queue


def _now() -> float:
    return time.time()


class SendTime(BeatLazyFunc):
    """The time beat sends the message (``time.time()``, evaluated per message). A value, not an identity: two are
    equal, so the settings compare equal to a copy of themselves and beat sees an unchanged entry as unchanged."""

    def __init__(self) -> None:
        super().__init__(_now)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SendTime)

    def __hash__(self) -> int:
        return hash(SendTime)


def _entry(task: str, period: int, *, slotted: bool) -> dict:
    entry = {"task": task, "schedule": float(period), "options": {"queue": Queue.TICKS.value, "expires": float(period)}}
    if slotted:
        entry["kwargs"] = {"scheduled_at": SendTime()}
    return entry


def beat_schedule(*, market_tick: int, attention_tick: int, sandbox_reap: int, judge: int | None) -> dict[str, dict]:
    """Periods in seconds; ``judge`` None leaves the scripted judge out (human judges)."""
    schedule = {
        "market-tick": _entry("market.run_tick", market_tick, slotted=True),
        "life-tick": _entry("evolution.life_tick", market_tick, slotted=False),  # numbered like the market tick
        "attention-tick": _entry("attention.run_tick", attention_tick, slotted=True),
        "sandbox-reap": _entry("sandbox.reap", sandbox_reap, slotted=False),
    }
    if judge is not None:
        schedule["attention-judge"] = _entry("attention.judge_queue", judge, slotted=False)
    return schedule
