"""Agents, their accounts and the double-entry ledger.

Invariants the database enforces:
- an agent account's balance is never below zero (CHECK);
- every transfer moves a positive amount between two different accounts (CHECK);
- an idempotency key is unique per payer (UNIQUE);
- an account belongs to exactly one agent or is exactly one system account (CHECK + UNIQUE).
The sum of all balances is zero because every movement debits and credits the same amount in one transaction.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Agent(models.Model):
    class Status(models.TextChoices):
        ALIVE = "alive", "alive"
        DEAD = "dead", "dead"

    name = models.CharField(max_length=100)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ALIVE, db_index=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    generation = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    died_at = models.DateTimeField(null=True, blank=True)
    death_cause = models.CharField(max_length=200, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="agents",
        help_text="The person who launched this agent's lineage, if any (judges may not score their own agents).",
    )

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.name} (#{self.pk})"

    # What core.permissions.IsAgent looks for on request.user (core knows no app's models).
    is_agent = True

    # DRF treats request.user as authenticated when this is true; an agent token authenticates an Agent.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_alive(self) -> bool:
        return self.status == self.Status.ALIVE


class Account(models.Model):
    class System(models.TextChoices):
        MINT = "mint", "mint"
        TREASURY = "treasury", "treasury"
        ESCROW = "escrow", "escrow"

    agent = models.OneToOneField(Agent, null=True, blank=True, on_delete=models.PROTECT, related_name="account")
    system = models.CharField(max_length=16, choices=System.choices, null=True, blank=True, unique=True)
    balance = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(agent__isnull=False) & Q(system__isnull=True))
                | (Q(agent__isnull=True) & Q(system__isnull=False)),
                name="account_agent_xor_system",
            ),
            models.CheckConstraint(
                condition=Q(agent__isnull=True) | Q(balance__gte=0),
                name="account_agent_balance_non_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"account:{self.system}" if self.system else f"account:agent#{self.agent_id}"


class Transfer(models.Model):
    """One immutable ledger movement: ``amount`` leaves ``debit`` and arrives in ``credit``."""

    class Kind(models.TextChoices):
        TRANSFER = "transfer", "transfer"
        MINT = "mint", "mint"
        BURN = "burn", "burn"
        HOLD = "hold", "hold"
        RELEASE = "release", "release"
        SETTLE = "settle", "settle"
        FEE = "fee", "fee"
        SPAWN = "spawn", "spawn"
        ENDOWMENT = "endowment", "endowment"
        UPKEEP = "upkeep", "upkeep"
        REWARD = "reward", "reward"
        REFUND = "refund", "refund"

    # Indexed only by the composite (account, -id) indexes below: every index costs each transfer an insertion.
    debit = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="debits", db_index=False)
    credit = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="credits", db_index=False)
    amount = models.BigIntegerField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    memo = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001 - NULL means "no key"
    # sha256 of the request that first used the idempotency key, to detect a reuse with another payload.
    request_hash = models.CharField(max_length=64, blank=True)
    hold = models.ForeignKey(
        "Hold", null=True, blank=True, on_delete=models.PROTECT, related_name="transfers", db_index=False
    )

    class Meta:
        # Django's ORM shim for the "ledger transfer" of the seed plan; named Transfer to avoid clashing with
        # database transactions in code.
        verbose_name = "ledger transfer"
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="transfer_amount_positive"),
            models.CheckConstraint(condition=~Q(debit=models.F("credit")), name="transfer_distinct_accounts"),
            models.UniqueConstraint(
                fields=["debit", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="transfer_idempotency_key_per_payer",
            ),
        ]
        indexes = [
            models.Index(fields=["debit", "-id"], name="transfer_debit_recent"),
            models.Index(fields=["credit", "-id"], name="transfer_credit_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} {self.debit_id}->{self.credit_id}"


# The seed plan calls a ledger movement a "Transaction".
Transaction = Transfer


class Hold(models.Model):
    """A two-phase escrow hold: funds moved from an agent to escrow, later settled or released exactly once."""

    class Status(models.TextChoices):
        PENDING = "pending", "pending"
        SETTLED = "settled", "settled"
        RELEASED = "released", "released"

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="holds")
    amount = models.BigIntegerField()
    settled_amount = models.BigIntegerField(default=0)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    memo = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="hold_amount_positive"),
            models.CheckConstraint(
                condition=Q(settled_amount__gte=0) & Q(settled_amount__lte=models.F("amount")),
                name="hold_settled_within_amount",
            ),
        ]

    def __str__(self) -> str:
        return f"hold#{self.pk} {self.amount} ({self.status})"


class AgentToken(models.Model):
    """An API credential for an agent; only the sha256 of the secret is stored."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="tokens")
    key_hash = models.CharField(max_length=64, unique=True)
    label = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"token#{self.pk} for agent#{self.agent_id}"


class EconomySeed(models.Model):
    """The economy's seed (one row, id 1): every seeded draw of the economy derives from it (``economy.determinism``),
    so the same seed and settings give the same history."""

    seed = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"economy seed {self.seed}"


class IdempotencyRecord(models.Model):
    """What an agent's keyed transfer answered, remembered per (payer, key): the transfer it made, or the refusal it
    got (``insufficient_funds``, ``agent_dead``, ``unknown_agent``). A retry with the same key and payload gets the
    same answer and moves nothing; another payload under the key is ``idempotency_conflict``. Requests refused by
    validation (nothing was attempted) are not remembered, as Stripe does."""

    # No database constraint: a record is claimed before the transfer finds out whether the payer exists.
    payer = models.ForeignKey(Agent, on_delete=models.DO_NOTHING, related_name="+", db_index=False, db_constraint=False)
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    transfer = models.OneToOneField(
        Transfer, null=True, blank=True, on_delete=models.PROTECT, related_name="idempotency_record"
    )
    refusal_code = models.CharField(max_length=64, blank=True)
    refusal_detail = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["payer", "key"], name="idempotency_record_key_per_payer"),
            models.CheckConstraint(
                condition=Q(transfer__isnull=True) | Q(refusal_code=""), name="idempotency_record_one_outcome"
            ),
        ]

    def __str__(self) -> str:
        return f"key {self.key!r} of agent#{self.payer_id}: {self.refusal_code or self.transfer_id}"
