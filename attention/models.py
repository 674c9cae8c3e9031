"""Attention: the market for a judge's time (supply 1 per attention tick) and the judges' review queue.

Invariants the database enforces:
- at most one pending attention bid per execution, and at most one won bid per execution and per tick (UNIQUE,
  partial): a tick can never put two items in the queue, nor an execution twice;
- one review item (``HumanReward``) per execution (UNIQUE), so an execution is judged at most once;
- a score is an integer from 0 to 10, and an item is scored exactly when it has a score and a time (CHECK);
- the reserve price stays within its floor and ceiling (CHECK), in a single state row.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from bidbook.models import BookTick, PriceController, SealedBid
from economy.models import Agent, Transfer
from sandbox.models import Execution

MAX_SCORE = 10
COMMENT_MAX_LENGTH = 2000


class AttentionState(PriceController):
    """The single row: the attention round new bids join, the reserve price and its controller's state.

    Bidders lock it shared and the tick exclusively, so a tick sees every bid placed before it and none after.
    """

    EDITABLE = ("price", "floor", "ceiling", "target_utilization", "ema_alpha")

    open_tick = models.PositiveBigIntegerField(default=1, help_text="The attention tick that new bids join.")
    target_utilization = models.FloatField(default=0.8, help_text="Share of ticks that should allocate the slot.")
    utilization_ema = models.FloatField(default=0.8)

    class Meta:
        verbose_name = "attention state"
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="attention_state_singleton"),
            *PriceController.controller_constraints("attention"),
        ]

    def __str__(self) -> str:
        return f"attention: reserve {self.price}, open tick {self.open_tick}"


class AttentionTick(BookTick):
    winner = models.OneToOneField(  # the highest of the tick's winning bids
        "AttentionBid", null=True, blank=True, on_delete=models.PROTECT, related_name="won_tick"
    )
    price = models.BigIntegerField(null=True, blank=True, help_text="What the winner paid.")
    reserve = models.BigIntegerField(help_text="The reserve price this tick cleared at.")
    next_price = models.BigIntegerField()
    utilization = models.FloatField()
    utilization_ema = models.FloatField()

    def __str__(self) -> str:
        return f"attention tick {self.number}"


class AttentionBid(SealedBid):
    """A bid to put one of the agent's executions in front of a judge; the winner's becomes a review item."""

    execution = models.ForeignKey(Execution, on_delete=models.PROTECT, related_name="attention_bids")

    class Meta(SealedBid.Meta):
        constraints = [
            *SealedBid.bid_constraints("attention_bid"),
            models.UniqueConstraint(
                fields=["execution"], condition=Q(status="PENDING"), name="attention_bid_one_pending_per_execution"
            ),
            models.UniqueConstraint(
                fields=["execution"], condition=Q(status="WON"), name="attention_bid_one_win_per_execution"
            ),
        ]
        indexes = SealedBid.bid_indexes("attention_bid")

    def __str__(self) -> str:
        return f"attention bid#{self.pk} {self.status}"


class HumanReward(models.Model):
    """A review item: a won execution waiting for a judge, then its score and the credits minted for it.

    QUEUED ──score (judge or the scripted judge)──▶ SCORED, exactly once (a conditional update in the same
    transaction as the mint).
    """

    class Status(models.TextChoices):
        QUEUED = "QUEUED", "queued"
        SCORED = "SCORED", "scored"

    execution = models.OneToOneField(Execution, on_delete=models.PROTECT, related_name="human_reward")
    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="human_rewards")
    bid = models.OneToOneField(AttentionBid, on_delete=models.PROTECT, related_name="review_item")
    tick_number = models.PositiveBigIntegerField()
    price_paid = models.BigIntegerField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    queued_at = models.DateTimeField(default=timezone.now)
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    comment = models.TextField(blank=True)
    judge = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="human_rewards"
    )
    judged_by = models.CharField(
        max_length=200, blank=True, help_text="The judge's username, or function:<module:function> for the script."
    )
    scored_at = models.DateTimeField(null=True, blank=True)
    minted = models.BigIntegerField(default=0, help_text="Credits minted to the agent for this score.")
    transfer = models.OneToOneField(
        Transfer, null=True, blank=True, on_delete=models.PROTECT, related_name="human_reward"
    )
    note = models.CharField(max_length=200, blank=True, help_text="Why nothing was minted, if so.")

    class Meta:
        verbose_name = "review item"
        verbose_name_plural = "review items"
        ordering = ["queued_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=["QUEUED", "SCORED"]), name="human_reward_status_valid"),
            models.CheckConstraint(
                condition=Q(score__isnull=True) | (Q(score__gte=0) & Q(score__lte=MAX_SCORE)),
                name="human_reward_score_in_range",
            ),
            models.CheckConstraint(
                condition=(Q(status="QUEUED") & Q(score__isnull=True) & Q(scored_at__isnull=True))
                | (Q(status="SCORED") & Q(score__isnull=False) & Q(scored_at__isnull=False)),
                name="human_reward_scored_iff_score",
            ),
            models.CheckConstraint(condition=Q(minted__gte=0), name="human_reward_minted_non_negative"),
        ]
        indexes = [
            models.Index(fields=["queued_at", "id"], condition=Q(status="QUEUED"), name="human_reward_queue"),
        ]

    def __str__(self) -> str:
        return f"review of execution#{self.execution_id} ({self.status})"
