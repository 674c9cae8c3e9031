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
