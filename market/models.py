"""Resource prices, sealed escrowed bids and market ticks.

Prices are integers in micro-credits per unit-second (a millicore-second of CPU, a megabyte-second of memory);
a bundle's cost at posted prices is ``ceil(wall_seconds * sum(quantity * price) / 1e6)`` credits, at least 1.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from economy.models import Agent, Hold


class ResourceType(models.Model):
    CPU = "cpu"
    MEMORY = "memory"

    code = models.CharField(max_length=16, unique=True)
    name = models.CharField(max_length=64)
    unit = models.CharField(max_length=32, help_text="What one unit of supply is, e.g. millicore or MB.")

    def __str__(self) -> str:
        return self.code


class MarketState(models.Model):
    """The posted (reserve) price of one resource and its controller's state."""

    resource = models.OneToOneField(ResourceType, on_delete=models.PROTECT, related_name="state")
    price = models.BigIntegerField(help_text="Micro-credits per unit-second.")
    floor = models.BigIntegerField()
    ceiling = models.BigIntegerField()
    target_utilization = models.FloatField(default=0.5)
    ema_alpha = models.FloatField(default=0.3, help_text="Weight of the newest utilization in the moving average.")
    utilization = models.FloatField(default=0.0, help_text="Allocated / supply in the last tick.")
    utilization_ema = models.FloatField(default=0.5)
    supply = models.BigIntegerField(default=0, help_text="Supply of the last tick (units).")
    supply_override = models.BigIntegerField(
        null=True, blank=True, help_text="When set, the supply of every tick; otherwise the worker hosts' capacity."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(floor__gt=0) & Q(ceiling__gte=F("floor")), name="market_bounds_valid"),
            models.CheckConstraint(
                condition=Q(price__gte=F("floor")) & Q(price__lte=F("ceiling")), name="market_price_within_bounds"
            ),
            models.CheckConstraint(
                condition=Q(target_utilization__gt=0) & Q(target_utilization__lte=1), name="market_target_in_range"
            ),
            models.CheckConstraint(condition=Q(ema_alpha__gt=0) & Q(ema_alpha__lte=1), name="market_alpha_in_range"),
        ]

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


class Tick(models.Model):
    number = models.PositiveBigIntegerField(unique=True)
    slot = models.BigIntegerField(
        null=True, blank=True, unique=True, help_text="Beat time slot (epoch // MARKET_TICK_SECONDS), if scheduled."
    )
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    bids = models.PositiveIntegerField(default=0)
    winners = models.PositiveIntegerField(default=0)
    supply = models.JSONField(default=dict)
    demand = models.JSONField(default=dict)
    allocated = models.JSONField(default=dict)
    clearing_multiple = models.FloatField(default=1.0, help_text="What winners paid per credit of posted cost.")
    revenue = models.BigIntegerField(default=0)
    prices = models.JSONField(default=dict, help_text="Posted prices this tick cleared at.")
    next_prices = models.JSONField(default=dict)

    class Meta:
        ordering = ["-number"]

    def __str__(self) -> str:
        return f"tick {self.number}"


class Bid(models.Model):
    class Status(models.TextChoices):
        PENDING = "PENDING", "pending"
        WON = "WON", "won"
        LOST = "LOST", "lost"
        CANCELLED = "CANCELLED", "cancelled"

    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="bids")
    tick_number = models.PositiveBigIntegerField(help_text="The tick this bid takes part in.")
    cpu_millicores = models.PositiveIntegerField()
    memory_mb = models.PositiveIntegerField()
    wall_seconds = models.PositiveIntegerField()
    max_price = models.BigIntegerField()
    fee = models.BigIntegerField(default=0)
    hold = models.OneToOneField(Hold, on_delete=models.PROTECT, related_name="bid")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    base_cost = models.BigIntegerField(null=True, blank=True, help_text="Cost at the tick's posted prices.")
    price = models.BigIntegerField(null=True, blank=True, help_text="What the bid paid (winners).")
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(max_price__gt=0), name="bid_max_price_positive"),
            models.CheckConstraint(
                condition=Q(price__isnull=True) | (Q(price__gte=0) & Q(price__lte=F("max_price"))),
                name="bid_price_within_max",
            ),
        ]
        indexes = [
            # Not partial on status: the tick's status updates stay HOT (no index writes) on PostgreSQL.
            models.Index(fields=["tick_number"], name="bid_by_tick"),
            models.Index(fields=["agent", "-id"], name="bid_agent_recent"),
        ]

    def __str__(self) -> str:
        return f"bid#{self.pk} {self.status}"
