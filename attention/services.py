"""Every write of the attention app: attention bids, the attention tick, scores and rewards.

- An agent offers credits to put one of its executions that carries an artifact in front of a judge: a SUCCEEDED
  one, or the RUNNING one it is bidding from (so a newborn's first work can be judged in the tick it ran); the
  maximum is held in escrow at once (``economy.hold_credits``).
- The attention tick sells ``ATTENTION_SLOTS`` slots in a uniform-price auction: the highest bids on SUCCEEDED
  executions win (ties: a seeded draw, never arrival), each pays the first losing bid (the (k+1)-th highest; with
  one slot, the second-price rule), at least the reserve price and never more than its own maximum; every other
  bid is released (a bid whose execution did not succeed by the tick loses), all in one set-based settlement. The
  reserve follows its utilization's (slots sold / slots) moving average with the market's bounded controller. The
  winners' executions enter the judges' queue as ``HumanReward`` items.
- A score (0..10, by a judge or the scripted judge) mints ``score * REWARD_PER_POINT`` credits to the agent exactly
  once per item: the conditional update QUEUED → SCORED and the mint share one transaction.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.utils import timezone

from attention import errors
from attention.models import MAX_SCORE, AttentionBid, AttentionState, AttentionTick, HumanReward
from attention.rewards import PAY_AUTHOR, RewardPolicy
from attention.selectors import JUDGES_GROUP, default_attention_state, is_judge
from bidbook.book import Book, ensure_row, update_controller
from economy import errors as ledger_errors
from economy import services as ledger
from economy.models import Agent, Transfer
from sandbox.errors import UnknownExecution
from sandbox.models import Execution

log = logging.getLogger(__name__)

JUDGE_PERMISSIONS = [("attention", "view_humanreward")]


# --- the book ------------------------------------------------------------------------------------------------

# The clearing rule: only bids at or above the reserve, by living agents, on executions that succeeded, can win; the
# top ``slots`` win and the next one sets the price (RANKING: ``Book.ranking``).
_TOP_SQL = f"""
SELECT b.id, b.max_price FROM {AttentionBid._meta.db_table} b
JOIN {Agent._meta.db_table} a ON a.id = b.agent_id
JOIN {Execution._meta.db_table} e ON e.id = b.execution_id
WHERE b.tick_number = %(tick)s AND b.status = %(pending)s AND b.max_price >= %(reserve)s
  AND a.status = %(alive)s AND e.status = %(succeeded)s
ORDER BY RANKING
LIMIT %(limit)s
"""


@dataclass(frozen=True)
class _Cleared:
    reserve: int
    slots: int
    winners: list[int]  # bid ids, in the auction's order
    price: int | None  # the uniform price (each winner pays it, or its maximum if lower)


class AttentionBook(Book):
    """The attention market: ``slots`` judge's slots per tick in a uniform-price auction above a reserve (one slot:
    the second-price rule); the winners' executions become review items in the judges' queue."""

    name = "attention"
    bid_model = AttentionBid
    tick_model = AttentionTick
    clock_model = AttentionState
    tick_name = "attention tick"
    unknown_bid = errors.UnknownAttentionBid
    bid_closed = errors.AttentionBidClosed

    def default_clock(self) -> AttentionState:
        return default_attention_state()

    def clear(self, *, number: int, clock: AttentionState, now, slots: int | None = None) -> _Cleared:
        slots = settings.ATTENTION_SLOTS if slots is None else slots
        if slots < 1:
            raise ValueError("An attention tick sells at least one slot.")
        reserve = clock.price
        params = {
            "tick": number,
            "pending": AttentionBid.Status.PENDING,
            "reserve": reserve,
            "alive": Agent.Status.ALIVE,
            "succeeded": Execution.Status.SUCCEEDED,
            "limit": slots + 1,
        }
        with connection.cursor() as cursor:
            cursor.execute(_TOP_SQL.replace("RANKING", self.ranking(number, "b.max_price", id_column="b.id")), params)
            top = cursor.fetchall()
        winners = top[:slots]
        # Every pending bid joined this tick: bids record the open tick under the shared lock, and each tick
        # closes all of its own. Filtering by tick number keeps the query on an index however long the history.
        pending = AttentionBid.objects.filter(tick_number=number, status=AttentionBid.Status.PENDING)
        price = None
        if winners:
            first_loser = top[slots][1] if len(top) > slots else 0
            price = max(reserve, first_loser)
            for bid_id, bid_max in winners:
                pending.filter(id=bid_id).update(
                    status=AttentionBid.Status.WON, price=min(bid_max, price), closed_at=now
                )
        pending.update(status=AttentionBid.Status.LOST, closed_at=now)
        return _Cleared(reserve=reserve, slots=slots, winners=[bid_id for bid_id, _ in winners], price=price)

    def record(self, *, number, slot, started_at, clock: AttentionState, cleared: _Cleared, closed) -> AttentionTick:
        clock.observe(len(cleared.winners) / cleared.slots)
        clock.save(update_fields=list(AttentionState.OBSERVED_FIELDS))
        return AttentionTick.objects.create(
            number=number,
            slot=slot,
            started_at=started_at,
            finished_at=timezone.now(),
            bids=closed.count(),
            winner_id=cleared.winners[0] if cleared.winners else None,
            price=cleared.price,
            reserve=cleared.reserve,
            next_price=clock.price,
            utilization=clock.utilization,
            utilization_ema=clock.utilization_ema,
        )

    def hand_on(self, *, tick: AttentionTick, cleared: _Cleared) -> None:
        won = AttentionBid.objects.in_bulk(cleared.winners)
        for bid in (won[bid_id] for bid_id in cleared.winners):  # in the auction's order
            HumanReward.objects.create(
                execution_id=bid.execution_id,
                agent_id=bid.agent_id,
                bid=bid,
                tick_number=tick.number,
                price_paid=bid.price,
                queued_at=tick.started_at,
            )


BOOK = AttentionBook()


def update_attention_state(*, changes: dict[str, object]) -> AttentionState:
    """Staff edit the controller (price, floor, ceiling, target, smoothing); other fields move only by ticks."""
    ensure_row(AttentionState, default=default_attention_state())
    return update_controller(AttentionState, pk=1, changes=changes)


# --- bids ---------------------------------------------------------------------------------------------------------


def place_attention_bid(*, agent_id: int, execution_id: int, max_price: int) -> AttentionBid:
    """Offer up to ``max_price`` credits to put one of the agent's own executions in front of a judge.

    Only a SUCCEEDED execution carrying a (non-blank) artifact qualifies, or the RUNNING one that already submitted
    its artifact (it must have SUCCEEDED by the attention tick to win), once: not while it has a pending bid, not once
    it was queued or judged. The maximum must reach the reserve price and is held in escrow at once.
    """
    ledger.validate_amount(max_price)
    with BOOK.bidding() as state:
        # Lock the execution so that two bids for it are taken one after the other.
        execution = Execution.objects.select_for_update().filter(id=execution_id, agent_id=agent_id).first()
        if execution is None:
            raise UnknownExecution(f"No execution {execution_id} of yours.")
        if execution.status not in (Execution.Status.SUCCEEDED, Execution.Status.RUNNING):
            raise errors.ExecutionNotSucceeded(f"Execution {execution_id} is {execution.status}, not SUCCEEDED.")
        if not execution.artifact.strip():
            raise errors.NoArtifact(f"Execution {execution_id} carries no artifact.")
        item_status = HumanReward.objects.filter(execution_id=execution_id).values_list("status", flat=True).first()
        if item_status == HumanReward.Status.QUEUED:
            raise errors.ExecutionAlreadyQueued(f"Execution {execution_id} is in the judges' queue.")
        if item_status == HumanReward.Status.SCORED:
            raise errors.ExecutionAlreadyJudged(f"Execution {execution_id} was already judged.")
        if AttentionBid.objects.filter(execution_id=execution_id, status=AttentionBid.Status.PENDING).exists():
            raise errors.AttentionBidPending(f"Execution {execution_id} already has a pending attention bid.")
        if max_price < state.price:
            raise errors.BidBelowReserve(f"The attention reserve price is {state.price} credits.", reserve=state.price)
        return BOOK.place(
            agent_id=agent_id,
            tick_number=state.open_tick,
            max_price=max_price,
            memo=f"attention bid for execution {execution_id}",
            execution_id=execution_id,
        )


def cancel_attention_bid(*, agent_id: int, bid_id: int) -> AttentionBid:
    """Withdraw a pending attention bid before its tick; the escrow is released in full."""
    return BOOK.cancel(agent_id=agent_id, bid_id=bid_id)


def cancel_open_attention_bids(*, agent_id: int) -> int:
    """Cancel every pending attention bid of an agent (for when it dies)."""
    return BOOK.cancel_all(agent_id=agent_id)


def run_attention_tick(*, slot: int | None = None, slots: int | None = None) -> AttentionTick | None:
    """Sell this tick's ``slots`` (default ``ATTENTION_SLOTS``), settle every bid, queue the winners' executions and
    move the reserve. The tick row's ``winner`` is the highest winning bid; every winner's bid is WON.

    Returns the tick, or None when the beat ``slot`` already ran (a duplicate or late delivery changes nothing).
    """
    return BOOK.run_tick(slot=slot, slots=slots)


# --- judges and scores --------------------------------------------------------------------------------------------


def ensure_judges_group() -> Group:
    """The ``judges`` group with its minimal permission (seeing review items in the admin), created if missing."""
    group, _ = Group.objects.get_or_create(name=JUDGES_GROUP)
    for app_label, codename in JUDGE_PERMISSIONS:
        permission = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
        if permission is not None:
            group.permissions.add(permission)
    return group


def add_judge(*, user) -> None:
    """Make ``user`` a judge: a member of the judges group with admin access (is_staff)."""
    with transaction.atomic():
        user.groups.add(ensure_judges_group())
        if not user.is_staff:
            user.is_staff = True
            user.save(update_fields=["is_staff"])


def _validate_score(score: object) -> int:
    if isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= MAX_SCORE:
        raise errors.InvalidScore(f"A score is an integer from 0 to {MAX_SCORE}.")
    return score


def _record_score(
    *, item: HumanReward, score: int, comment: str, judge, judged_by: str, rewards: RewardPolicy = PAY_AUTHOR
) -> HumanReward:
    """QUEUED → SCORED and the mint, in one transaction; only one caller ever wins the conditional update. The
    credits go to the agent ``rewards`` names (the author, unless an experiment's control arm says otherwise);
    ``minted`` records what the author got."""
    now = timezone.now()
    with transaction.atomic():
        scored = HumanReward.objects.filter(id=item.id, status=HumanReward.Status.QUEUED).update(
            status=HumanReward.Status.SCORED,
            score=score,
            comment=comment,
            judge=judge,
            judged_by=judged_by[:200],
            scored_at=now,
        )
        if scored != 1:
            raise errors.AlreadyScored(f"Execution {item.execution_id} was already scored.")
        amount = score * settings.REWARD_PER_POINT
        transfer_id, note = None, ""
        recipient = rewards.recipient(item) if amount > 0 else None
        if amount > 0 and recipient is None:
            amount, note = 0, f"{rewards.name}: nobody to pay, nothing minted"
        elif amount > 0:
            if recipient == item.agent_id:
                memo = f"reward: execution {item.execution_id} scored {score} by {judged_by}"
            else:
                memo = f"{rewards.name} reward for execution {item.execution_id} of agent {item.agent_id}"
            try:
                transfer = ledger.mint_credits(
                    agent_id=recipient,
                    amount=amount,
                    memo=memo[: settings.BP_MEMO_MAX_LENGTH],
                    kind=Transfer.Kind.REWARD,
                )
                transfer_id = transfer.id
                if recipient != item.agent_id:
                    amount, note = 0, f"{rewards.name}: {transfer.amount} credits minted to agent {recipient}"
            except ledger_errors.AgentDead:
                amount, note = 0, "the agent died before it was scored: nothing minted"
        else:
            amount = 0
        HumanReward.objects.filter(id=item.id).update(minted=amount, transfer_id=transfer_id, note=note[:200])
    item.refresh_from_db()
    return item


def judge_execution(*, judge, execution_id: int, score: int, comment: str = "") -> HumanReward:
    """A judge scores a queued execution: ``score * REWARD_PER_POINT`` credits are minted to its agent, once.

    Refused: a score that is not an integer 0..10, a caller outside the judges group, an execution not in the queue
    (or already scored), and an agent the judge owns. A score of 0 closes the item and mints nothing; so does a
    score for an agent that died meanwhile (the economy never mints to the dead).
    """
    _validate_score(score)
    if not isinstance(comment, str):
        raise errors.InvalidComment()
    if not is_judge(judge):
        raise errors.NotAJudge()
    item = HumanReward.objects.select_related("agent").filter(execution_id=execution_id).first()
    if item is None:
        raise errors.NotInQueue(f"Execution {execution_id} is not in the judges' queue.")
    if item.status != HumanReward.Status.QUEUED:
        raise errors.AlreadyScored(f"Execution {execution_id} was already scored.")
    if item.agent.owner_id is not None and item.agent.owner_id == judge.pk:
        raise errors.JudgeOwnsAgent(f"You own agent {item.agent_id}; another judge must score it.")
    return _record_score(item=item, score=score, comment=comment, judge=judge, judged_by=judge.get_username())


# --- the scripted judge -------------------------------------------------------------------------------------------


def load_scorer(path: str) -> Callable[[str], int]:
    """Import ``module:function`` (a scoring function given the artifact text, returning 0..10)."""
    module_name, sep, attribute = path.partition(":")
    if not sep or not module_name or not attribute:
        raise ImproperlyConfigured(f"ATTENTION_JUDGE must look like 'module:function', got {path!r}")
    try:
        scorer = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise ImproperlyConfigured(f"ATTENTION_JUDGE {path!r} cannot be imported: {exc}") from exc
    if not callable(scorer):
        raise ImproperlyConfigured(f"ATTENTION_JUDGE {path!r} is not callable")
    return scorer


def run_scripted_judge(
    *,
    limit: int = 100,
    scorer: Callable[[str], int] | None = None,
    name: str | None = None,
    rewards: RewardPolicy = PAY_AUTHOR,
) -> list[int]:
    """Apply a scoring function to queued items, oldest first; return the ids it scored.

    ``scorer`` (named ``name`` in the record) is given by the caller (the embedded economy); without it, the
    ``ATTENTION_JUDGE`` setting's function is used, and nothing happens when that is empty (the human queue). The
    function sees only the artifact; a result that is not an integer 0..10 (or an exception) is logged and leaves
    the item queued. Items a human scored meanwhile are skipped. ``rewards`` says who is paid (see
    ``attention.rewards``).
    """
    if scorer is None:
        path = settings.ATTENTION_JUDGE
        if not path:
            return []
        scorer, name = load_scorer(path), path
    name = name or getattr(scorer, "__name__", "judge")
    scored: list[int] = []
    queued = HumanReward.objects.filter(status=HumanReward.Status.QUEUED).select_related("execution")
    for item in queued.order_by("queued_at", "id")[:limit]:
        try:
            score = _validate_score(scorer(item.execution.artifact))
        except Exception:
            log.exception("judge %s failed on execution %s; left queued", name, item.execution_id)
            continue
        try:
            _record_score(item=item, score=score, comment="", judge=None, judged_by=f"function:{name}", rewards=rewards)
        except errors.AlreadyScored:
            continue
        scored.append(item.id)
    return scored
