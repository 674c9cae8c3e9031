"""Receivers of the market's signals (connected in ``SandboxConfig.ready``)."""

from __future__ import annotations

from sandbox import services


def create_executions_on_bids_won(sender, *, tick_number: int, enqueue: bool | None = None, **kwargs) -> None:
    """The tick's winners get their executions, in the tick's transaction."""
    services.create_executions_for_tick(tick_number=tick_number, enqueue=enqueue)
