"""The resource bundle an execution may use, and what it costs at posted prices."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from market import errors

MICRO = 1_000_000


@dataclass(frozen=True)
class ResourceBundle:
    cpu_millicores: int
    memory_mb: int
    wall_seconds: int

    def validate(self) -> ResourceBundle:
        limits = settings.MARKET_BUNDLE_LIMITS
        for field in ("cpu_millicores", "memory_mb", "wall_seconds"):
            value = getattr(self, field)
            low, high = limits[field]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise errors.InvalidBundle(f"{field} must be an integer from {low} to {high}.", field=field)
        return self

    def cost(self, *, cpu_price: int, memory_price: int) -> int:
        """Credits at the given prices (micro-credits per unit-second), rounded up, at least 1."""
        micro = self.wall_seconds * (self.cpu_millicores * cpu_price + self.memory_mb * memory_price)
        return max(1, -(-micro // MICRO))


def next_price(*, price: int, utilization_ema: float, target: float, floor: int, ceiling: int) -> int:
    """EIP-1559's bounded step toward the target utilization: at most ±12.5 % a tick, within floor and ceiling.

    The gap to the target is measured against the room on its side (``target`` below it, ``1 - target`` above it),
    so full use moves the price up by the whole step whatever the target (EIP-1559's target is one half, where both
    sides are the same)."""
    room = target if utilization_ema < target else 1 - target
    step = (utilization_ema - target) / (8 * room) if room > 0 else 0.0
    step = max(-0.125, min(0.125, step))
    return max(floor, min(ceiling, round(price * (1 + step))))


def next_price_bounds(*, price: int, floor: int, ceiling: int) -> tuple[int, int]:
    """The lowest and highest price the next tick can post (one step of at most 12.5 %, within floor and ceiling)."""
    return max(floor, round(price * 0.875)), min(ceiling, round(price * 1.125))
