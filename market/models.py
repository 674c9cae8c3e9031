"""Resource prices, sealed escrowed bids and market ticks.

Prices are integers in micro-credits per unit-second (a millicore-second of CPU, a megabyte-second of memory);
a bundle's cost at posted prices is ``ceil(wall_seconds * sum(quantity * price) / 1e6)`` credits, at least 1.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from bidbook.models import BookTick, PriceController, SealedBid


class ResourceType(models.Model):
    CPU = "cpu"
    MEMORY = "memory"

    code = models.CharField(max_length=16, unique=True)
    name = models.CharField(max_length=64)
    unit = models.CharField(max_length=32, help_text="What one unit of supply is, e.g. millicore or MB.")

    def __str__(self) -> str:
        return self.code


class MarketState(PriceController):
    """The posted (reserve) price of one resource and its controller's state."""

    EDITABLE = ("floor", "ceiling", "target_utilization", "ema_alpha", "supply_override")

    resource = models.OneToOneField(ResourceType, on_delete=models.PROTECT, related_name="state")
    supply = models.BigIntegerField(default=0, help_text="Supply of the last tick (units).")
    supply_override = models.BigIntegerField(
        null=True, blank=True, help_text="When set, the supply of every tick; otherwise the worker hosts' capacity."
    )

    class Meta:
        constraints = PriceController.controller_constraints("market")

    def __str__(self) -> str:
        return f"{self.resource.code}: {self.price}"


class WorkerHost(models.Model):
    """A Docker host offering capacity to the market; the sum of live hosts is the tick's supply."""

    name = models.CharField(max_length=100, unique=True)
    cpu_millicores = models.PositiveIntegerField()
    memory_mb = models.PositiveIntegerField()
    last_seen = models.DateTimeField()

    def __str__(self) -> str:
        return self.name


class MarketClock(models.Model):
    """A single row: the tick that new bids join. Bids lock it shared, the tick locks it exclusively."""

    open_tick = models.PositiveBigIntegerField(default=1)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(id=1), name="market_clock_singleton")]

    def __str__(self) -> str:
        return f"open tick {self.open_tick}"


class Tick(BookTick):
    winners = models.PositiveIntegerField(default=0)
    supply = models.JSONField(default=dict)
    demand = models.JSONField(default=dict)
    allocated = models.JSONField(default=dict)
    clearing_multiple = models.FloatField(default=1.0, help_text="What winners paid per credit of posted cost.")
    revenue = models.BigIntegerField(default=0)
    prices = models.JSONField(default=dict, help_text="Posted prices this tick cleared at.")
    next_prices = models.JSONField(default=dict)

    def __str__(self) -> str:
        return f"tick {self.number}"


class Bid(SealedBid):
    """A bid for a resource bundle; the winners' bundles become executions."""

    cpu_millicores = models.PositiveIntegerField()
    memory_mb = models.PositiveIntegerField()
    wall_seconds = models.PositiveIntegerField()
    fee = models.BigIntegerField(default=0)
    base_cost = models.BigIntegerField(null=True, blank=True, help_text="Cost at the tick's posted prices.")

    class Meta(SealedBid.Meta):
        constraints = SealedBid.bid_constraints("bid")
        indexes = SealedBid.bid_indexes("bid")

    def __str__(self) -> str:
        return f"bid#{self.pk} {self.status}"
