"""Reads of the economy used by more than one caller."""

from __future__ import annotations

from django.db.models import OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from core.snapshot import read_snapshot
from economy import errors
from economy.models import Account, Agent, Hold, Transfer


def get_agent(*, agent_id: int) -> Agent:
    try:
        return Agent.objects.get(id=agent_id)
    except Agent.DoesNotExist as exc:
        raise errors.UnknownAgent(f"No agent with id {agent_id}.") from exc


def get_balance(*, agent_id: int) -> int:
    """The credits an agent can spend now (held credits are in escrow, not here)."""
    balance = Account.objects.filter(agent_id=agent_id).values_list("balance", flat=True).first()
    if balance is None:
        raise errors.UnknownAgent(f"No agent with id {agent_id}.")
    return balance


def get_balance_and_held(*, agent_id: int) -> tuple[int, int]:
    """``get_balance`` and ``get_held`` in one statement (the balance read is the API's most frequent request)."""
    held = (
        Hold.objects.filter(account_id=OuterRef("id"), status=Hold.Status.PENDING)
        .values("account_id")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    row = (
        Account.objects.filter(agent_id=agent_id)
        .annotate(held=Coalesce(Subquery(held), Value(0)))
        .values_list("balance", "held")
        .first()
    )
    if row is None:
        raise errors.UnknownAgent(f"No agent with id {agent_id}.")
    return row[0], row[1]


def get_held(*, agent_id: int) -> int:
    """The credits of an agent that sit in pending escrow holds."""
    total = Hold.objects.filter(account__agent_id=agent_id, status=Hold.Status.PENDING).aggregate(total=Sum("amount"))
    return total["total"] or 0


def get_history(*, agent_id: int) -> QuerySet[Transfer]:
    """Every transfer into or out of the agent's account, newest first."""
    account_id = Account.objects.filter(agent_id=agent_id).values_list("id", flat=True).first()
    if account_id is None:
        raise errors.UnknownAgent(f"No agent with id {agent_id}.")
    return (
        Transfer.objects.filter(Q(debit_id=account_id) | Q(credit_id=account_id))
        .select_related("debit", "credit")
        .order_by("-id")
    )


@read_snapshot()
def ledger_violations() -> list[str]:
    """Check the ledger's invariants; return the violations found (empty when the ledger is sound).

    - conservation: the balances of all accounts sum to zero;
    - no agent account is below zero;
    - every account's balance equals its credits minus its debits in the transfer history;
    - escrow equals the sum of pending holds.

    The reads run in one read-only snapshot (``core.snapshot.read_snapshot``), so ticks committing meanwhile cannot
    show a violation that no single state of the ledger has.
    """
    problems: list[str] = []
    total = Account.objects.aggregate(total=Sum("balance"))["total"] or 0
    if total != 0:
        problems.append(f"conservation: balances sum to {total}, not 0")
    negative = Account.objects.filter(agent__isnull=False, balance__lt=0).order_by("id").first()
    if negative is not None:
        problems.append(f"negative balance: {negative} has {negative.balance}")
    credits = dict(Transfer.objects.values_list("credit_id").annotate(s=Sum("amount")).order_by())
    debits = dict(Transfer.objects.values_list("debit_id").annotate(s=Sum("amount")).order_by())
    for account_id, balance in Account.objects.order_by("id").values_list("id", "balance"):
        expected = credits.get(account_id, 0) - debits.get(account_id, 0)
        if balance != expected:
            problems.append(
                f"history mismatch: account {account_id} has balance {balance}, its transfers sum to {expected}"
            )
    pending = Hold.objects.filter(status=Hold.Status.PENDING).aggregate(total=Sum("amount"))["total"] or 0
    escrow = Account.objects.filter(system=Account.System.ESCROW).values_list("balance", flat=True).first() or 0
    if escrow != pending:
        problems.append(f"escrow mismatch: escrow holds {escrow}, pending holds sum to {pending}")
    return problems
