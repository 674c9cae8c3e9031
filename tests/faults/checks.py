"""What every fault test ends with: the ledger holds, nothing ran twice, nothing was lost, the economy goes on."""

from __future__ import annotations

from django.db import connections
from django.db.models import Count

from economy.selectors import ledger_violations
from market.models import Bid, Tick
from sandbox.models import Execution
from tests.faults.harness import wait_for


def assert_economy_sound(economy=None) -> None:
    """``economy``: its processes are stopped first (the ledger check reads several tables one after the other; a
    tick committing in between would look like a violation)."""
    if economy is not None:
        economy.stop_all()
    connections.close_all()  # a fault may have broken this process's connection too
    problems = ledger_violations()
    assert problems == [], problems
    slots = list(Tick.objects.exclude(slot=None).values_list("slot", flat=True))
    assert len(slots) == len(set(slots)), "a beat slot ran twice"
    numbers = sorted(Tick.objects.values_list("number", flat=True))
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers))) if numbers else True, numbers
    # One execution per won bid, and none for a bid that did not win.
    won = set(Bid.objects.filter(status=Bid.Status.WON).values_list("id", flat=True))
    executed = list(Execution.objects.values_list("bid_id", flat=True))
    assert len(executed) == len(set(executed)) and set(executed) == won
    # Every bid of a tick that ran was settled by it (none left pending behind the open tick).
    last = Tick.objects.order_by("-number").values_list("number", flat=True).first()
    if last is not None:
        stale = Bid.objects.filter(status=Bid.Status.PENDING, tick_number__lte=last)
        assert not stale.exists(), list(stale.values("id", "tick_number"))
    assert not Tick.objects.values("slot").exclude(slot=None).annotate(n=Count("id")).filter(n__gt=1).exists()


def wait_for_ticks(count: int, timeout: float, what: str = "the economy to go on ticking") -> list[int]:
    """Wait until ``count`` more market ticks have run; return their numbers."""
    connections.close_all()
    before = Tick.objects.order_by("-number").values_list("number", flat=True).first() or 0

    def more() -> list[int]:
        try:
            numbers = list(Tick.objects.filter(number__gt=before).values_list("number", flat=True))
        finally:
            connections.close_all()
        return numbers if len(numbers) >= count else []

    return wait_for(more, timeout, what, interval=0.5)
