"""Life events, population statistics and messages between agents."""

from __future__ import annotations

from django.db import models

from economy.models import Agent, Transfer


class LifeEvent(models.Model):
    """A birth or a death, kept in the lineage for ever."""

    class Kind(models.TextChoices):
        BIRTH = "birth", "birth"
        DEATH = "death", "death"

    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="life_events")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    cause = models.CharField(max_length=200, blank=True)
    transfer = models.ForeignKey(
        Transfer, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False,
        help_text="The ledger movement of the event (the spawn fee, or the final upkeep at death).",
    )  # fmt: skip
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["agent", "kind"], name="one_birth_and_one_death_per_agent")]

    def __str__(self) -> str:
        return f"{self.kind} of agent#{self.agent_id}"


class PopulationStats(models.Model):
    """One row per life tick, for the dashboard."""

    tick = models.PositiveBigIntegerField(unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    alive = models.PositiveIntegerField()
    births = models.PositiveIntegerField()
    deaths = models.PositiveIntegerField()
    max_generation = models.PositiveIntegerField(default=0)
    credits_in_circulation = models.BigIntegerField(help_text="Agents' balances plus their credits in escrow.")
    minted = models.BigIntegerField(help_text="All credits ever minted.")
    burned = models.BigIntegerField(help_text="All credits in the treasury (fees, upkeep, prices).")
    gini = models.FloatField(help_text="Gini coefficient of living agents' balances (0 equal, 1 one has all).")
    minted_in_tick = models.BigIntegerField(default=0, help_text="Credits minted during this tick (rewards).")
    burned_in_tick = models.BigIntegerField(
        default=0, help_text="Credits burned during this tick (fees, upkeep, prices, estates)."
    )
    selection_differential = models.FloatField(
        default=0.0,
        help_text="Covariance, over the agents whose work from the last SELECTION_WINDOW ticks was judged, between "
        "the mean judged score of that work and the children they had in the window (> 0: the better reproduce).",
    )
    diversity = models.PositiveIntegerField(default=0, help_text="Distinct latest artifacts among the living.")
    last_event_id = models.BigIntegerField(
        default=0, help_text="The last life event counted (births and deaths of a tick are those after the previous)."
    )

    class Meta:
        ordering = ["-tick"]
        verbose_name_plural = "population stats"

    def __str__(self) -> str:
        return f"stats at tick {self.tick}"


class Message(models.Model):
    """A message between agents, delivered at the next tick boundary: the inbox shows a message once the market
    tick that was open when it was sent has closed (so what an agent reads never depends on who ran first)."""

    sender = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="sent_messages")
    recipient = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="+", db_index=False)
    body = models.TextField()
    tick = models.PositiveBigIntegerField(default=0, help_text="The market tick open when it was sent.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["recipient", "-id"], name="message_inbox")]

    def __str__(self) -> str:
        return f"message#{self.pk} {self.sender_id}->{self.recipient_id}"
