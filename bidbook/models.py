"""Abstract models of an escrowed sealed-bid book: a price controller, a bid and a tick row.

Each market's concrete models inherit from these and add only their own columns (the compute market's bundle and
fee, the attention market's execution). Abstract: no table of their own, so no schema change for either market.
Constraint and index names are passed in by each market (``<prefix>_...``) so that existing databases keep theirs.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from economy.models import Agent, Hold

# The controller moves the posted (reserve) price by at most this share of itself per tick (EIP-1559's bound).
MAX_STEP = 0.125


def next_price(*, price: int, utilization_ema: float, target: float, floor: int, ceiling: int) -> int:
    """EIP-1559's bounded step toward the target utilization: at most ±12.5 % a tick, within floor and ceiling.

    The gap to the target is measured against the room on its side (``target`` below it, ``1 - target`` above it),
    so full use moves the price up by the whole step whatever the target (EIP-1559's target is one half, where both
    sides are the same)."""
    room = target if utilization_ema < target else 1 - target
    step = (utilization_ema - target) / (8 * room) if room > 0 else 0.0
    step = max(-MAX_STEP, min(MAX_STEP, step))
    return max(floor, min(ceiling, round(price * (1 + step))))


def next_price_bounds(*, price: int, floor: int, ceiling: int) -> tuple[int, int]:
    """The lowest and highest price the next tick can post (one step of at most 12.5 %, within floor and ceiling)."""
    return max(floor, round(price * (1 - MAX_STEP))), min(ceiling, round(price * (1 + MAX_STEP)))


class PriceController(models.Model):
    """A posted (reserve) price that follows the moving average of utilization toward a target.

    Ticks call :meth:`observe` under the row's lock and save ``OBSERVED_FIELDS``; staff change only ``EDITABLE``
    (through ``bidbook.book.update_controller``), never the whole row.
    """

    EDITABLE: tuple[str, ...] = ("floor", "ceiling", "target_utilization", "ema_alpha")
    OBSERVED_FIELDS = ("utilization", "utilization_ema", "price", "updated_at")

    price = models.BigIntegerField(help_text="The posted (reserve) price; it moves only with ticks' controller steps.")
    floor = models.BigIntegerField()
    ceiling = models.BigIntegerField()
    target_utilization = models.FloatField(default=0.5)
    ema_alpha = models.FloatField(default=0.3, help_text="Weight of the newest utilization in the moving average.")
    utilization = models.FloatField(default=0.0, help_text="Allocated / supply in the last tick.")
    utilization_ema = models.FloatField(default=0.5)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

    @staticmethod
    def controller_constraints(prefix: str) -> list[models.BaseConstraint]:
        """floor > 0, floor <= price <= ceiling, target and smoothing in (0, 1] — named ``<prefix>_...``."""
        return [
            models.CheckConstraint(
                condition=Q(floor__gt=0) & Q(ceiling__gte=F("floor")), name=f"{prefix}_bounds_valid"
            ),
            models.CheckConstraint(
                condition=Q(price__gte=F("floor")) & Q(price__lte=F("ceiling")), name=f"{prefix}_price_within_bounds"
            ),
            models.CheckConstraint(
                condition=Q(target_utilization__gt=0) & Q(target_utilization__lte=1), name=f"{prefix}_target_in_range"
            ),
            models.CheckConstraint(condition=Q(ema_alpha__gt=0) & Q(ema_alpha__lte=1), name=f"{prefix}_alpha_in_range"),
        ]

    def observe(self, utilization: float) -> int:
        """One controller step: record this tick's utilization, update its moving average, move the price one
        bounded step toward the target. Returns the new price (the caller saves ``OBSERVED_FIELDS``)."""
        self.utilization = utilization
        self.utilization_ema = self.ema_alpha * utilization + (1 - self.ema_alpha) * self.utilization_ema
        self.price = next_price(
            price=self.price,
            utilization_ema=self.utilization_ema,
            target=self.target_utilization,
            floor=self.floor,
            ceiling=self.ceiling,
        )
        return self.price

    def next_price_bounds(self) -> tuple[int, int]:
        return next_price_bounds(price=self.price, floor=self.floor, ceiling=self.ceiling)


class SealedBid(models.Model):
    """A sealed offer of up to ``max_price`` credits in one tick, its maximum held in escrow until the tick settles.

    PENDING ──tick──▶ WON (pays ``price`` <= max_price, the rest released) | LOST (released in full);
    PENDING ──agent──▶ CANCELLED (released in full).
    """

    class Status(models.TextChoices):
        PENDING = "PENDING", "pending"
        WON = "WON", "won"
        LOST = "LOST", "lost"
        CANCELLED = "CANCELLED", "cancelled"

    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="%(app_label)s_bids")
    tick_number = models.PositiveBigIntegerField(help_text="The tick this bid takes part in.")
    max_price = models.BigIntegerField()
    hold = models.OneToOneField(Hold, on_delete=models.PROTECT, related_name="%(app_label)s_bid")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    price = models.BigIntegerField(null=True, blank=True, help_text="What the bid paid (winners).")
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["-id"]

    @staticmethod
    def bid_constraints(prefix: str) -> list[models.BaseConstraint]:
        return [
            models.CheckConstraint(condition=Q(max_price__gt=0), name=f"{prefix}_max_price_positive"),
            models.CheckConstraint(
                condition=Q(price__isnull=True) | (Q(price__gte=0) & Q(price__lte=F("max_price"))),
                name=f"{prefix}_price_within_max",
            ),
        ]

    @staticmethod
    def bid_indexes(prefix: str) -> list[models.Index]:
        # Not partial on status: the tick's status updates stay HOT (no index writes) on PostgreSQL.
        return [
            models.Index(fields=["tick_number"], name=f"{prefix}_by_tick"),
            models.Index(fields=["agent", "-id"], name=f"{prefix}_agent_recent"),
        ]

    @property
    def held(self) -> int:
        """Credits still held in escrow for this bid."""
        return self.hold.amount if self.status == self.Status.PENDING else 0


class BookTick(models.Model):
    """One closed tick of a book: which beat slot ran it, when, and how many bids took part."""

    number = models.PositiveBigIntegerField(unique=True)
    slot = models.BigIntegerField(
        null=True, blank=True, unique=True, help_text="Beat time slot (scheduled epoch // tick period), if scheduled."
    )
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    bids = models.PositiveIntegerField(default=0, help_text="Bids that took part.")

    class Meta:
        abstract = True
        ordering = ["-number"]
