"""The Celery queues, named once: tasks declare theirs from here and the beat schedule routes to them.

- ``ticks``: the periodic work beside the database (market, attention and life ticks, the reaper, the scripted
  judge); one worker with concurrency 1 is enough, and every tick is idempotent per beat slot.
- ``sandbox``: executions, on Docker hosts (no database credentials).
- ``default``: anything else.
"""

from __future__ import annotations

import time
from enum import StrEnum


class Queue(StrEnum):
    TICKS = "ticks"
    SANDBOX = "sandbox"
    DEFAULT = "default"


def beat_slot(scheduled_at: float | None, period: int) -> int:
    """The beat slot a periodic task runs for: the time beat scheduled the message (``scheduled_at``, sent with it)
    divided by the task's period — not the time a worker happens to run it, so a message delivered late still runs
    its own slot. Without ``scheduled_at`` (a manual call), now."""
    return int((time.time() if scheduled_at is None else scheduled_at) // period)
