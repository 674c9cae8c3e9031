"""Every write of the market: bids, cancellations, worker capacity, and the tick.

The tick is set-based: ranking, allocation and pricing are single SQL statements over all of the tick's bids, and
the escrow is settled by ``economy.services.settle_holds_bulk`` in the same transaction. The book's shape (locks,
escrow, cancel, the tick's order of steps) is ``bidbook.book``; this module holds the compute market's own rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from bidbook.book import Book, update_controller
from economy import services as ledger
from economy.models import Transfer
from market import errors
from market.bundles import ResourceBundle
from market.defaults import create_market_defaults
from market.models import Bid, MarketClock, MarketState, ResourceType, Tick, WorkerHost
from market.signals import bids_won


@dataclass(frozen=True)
class Prices:
    cpu: int
    memory: int

    def as_dict(self) -> dict[str, int]:
        return {ResourceType.CPU: self.cpu, ResourceType.MEMORY: self.memory}


def posted_prices() -> Prices:
    prices = dict(MarketState.objects.values_list("resource__code", "price"))
    return Prices(cpu=prices[ResourceType.CPU], memory=prices[ResourceType.MEMORY])


def place_bid(*, agent_id: int, bundle: ResourceBundle, max_price: int) -> Bid:
    """Offer up to ``max_price`` credits for ``bundle`` in the open tick; the maximum is held in escrow at once and
    the bid fee is burned. Refused: a bundle outside the limits, a maximum below the bundle's posted cost, or a
    maximum plus fee the agent cannot cover."""
    bundle.validate()
    ledger.validate_amount(max_price)
    if max_price > settings.MARKET_MAX_BID:
        raise errors.InvalidMaxPrice(f"max_price must be at most {settings.MARKET_MAX_BID}.", field="max_price")
    with BOOK.bidding() as clock:
        prices = posted_prices()
        cost = bundle.cost(cpu_price=prices.cpu, memory_price=prices.memory)
        if max_price < cost:
            raise errors.BidBelowReserve(f"This bundle costs at least {cost} credits at posted prices.", cost=cost)
        fee = settings.MARKET_BID_FEE
        # The hold moves credits into escrow and the fee into the treasury: lock all three accounts first, in
        # ascending order (hold-then-fee deadlocked against upkeep, which locks the treasury and then every agent).
        ledger.lock_accounts_for(
            agent_id=agent_id, system_account_ids=(ledger.ESCROW_ACCOUNT_ID, ledger.TREASURY_ACCOUNT_ID)
        )
        bid = BOOK.place(
            agent_id=agent_id,
            tick_number=clock.open_tick,
            max_price=max_price,
            memo=f"bid for tick {clock.open_tick}",
            cpu_millicores=bundle.cpu_millicores,
            memory_mb=bundle.memory_mb,
            wall_seconds=bundle.wall_seconds,
            fee=fee,
        )
        if fee:
            ledger.burn_credits(agent_id=agent_id, amount=fee, memo="bid fee", kind=Transfer.Kind.FEE)
        return bid


def cancel_bid(*, agent_id: int, bid_id: int) -> Bid:
    """Withdraw a pending bid before its tick closes; its escrow is released in full (the fee is not refunded)."""
    return BOOK.cancel(agent_id=agent_id, bid_id=bid_id)


def cancel_open_bids(*, agent_id: int) -> int:
    """Cancel every pending bid of an agent (used when it dies)."""
    return BOOK.cancel_all(agent_id=agent_id)


def report_worker_capacity(*, name: str, cpu_millicores: int, memory_mb: int) -> WorkerHost:
    """A worker host announces (and keeps announcing) the capacity it offers to the market. ``name`` is the host's
    own (the caller authenticates it); the capacity must lie within ``MARKET_WORKER_CPU_MILLICORES_BOUNDS`` and
    ``MARKET_WORKER_MEMORY_MB_BOUNDS`` (else ``invalid_capacity``)."""
    for field, value, (low, high) in (
        ("cpu_millicores", cpu_millicores, settings.MARKET_WORKER_CPU_MILLICORES_BOUNDS),
        ("memory_mb", memory_mb, settings.MARKET_WORKER_MEMORY_MB_BOUNDS),
    ):
        if not low <= value <= high:
            raise errors.InvalidCapacity(
                f"{field} must be between {low} and {high} for one worker host; got {value}.",
                field=field,
                min=low,
                max=high,
            )
    host, _ = WorkerHost.objects.update_or_create(
        name=name, defaults={"cpu_millicores": cpu_millicores, "memory_mb": memory_mb, "last_seen": timezone.now()}
    )
    return host


def remove_stale_worker_hosts() -> int:
    """Delete the worker hosts whose last report is older than ``MARKET_WORKER_TTL_SECONDS`` (they stopped counting
    towards the supply then); return how many."""
    cutoff = timezone.now() - timedelta(seconds=settings.MARKET_WORKER_TTL_SECONDS)
    deleted, _ = WorkerHost.objects.filter(last_seen__lt=cutoff).delete()
    return deleted


def current_supply() -> dict[str, int]:
    """Per resource: the staff override, else the live worker hosts' capacity, else the one-machine default."""
    live = WorkerHost.objects.filter(
        last_seen__gte=timezone.now() - timedelta(seconds=settings.MARKET_WORKER_TTL_SECONDS)
    )
    hosts = live.aggregate(cpu=Sum("cpu_millicores"), memory=Sum("memory_mb"))
    supply = {
        ResourceType.CPU: hosts["cpu"] or settings.MARKET_DEFAULT_CPU_MILLICORES,
        ResourceType.MEMORY: hosts["memory"] or settings.MARKET_DEFAULT_MEMORY_MB,
    }
    for code, override in MarketState.objects.filter(supply_override__isnull=False).values_list(
        "resource__code", "supply_override"
    ):
        supply[code] = override
    return supply


# Two statements clear the tick. The first ranks the bids by offer per credit of posted cost (``Book.ranking``: ties
# go to the tick's seeded draw, never to arrival) and finds the first loser: the first bid at which a resource's
# cumulative sum exceeds its supply (cumulative sums only grow, so the winners are the prefix before it). The second
# is one pass over the tick's bids in table order, like a plain bulk UPDATE (no join back to the ranking): a bid wins
# when it ranks before the first loser (``Book.ranks_before``) and pays the first loser's multiple of its own posted
# cost (at least 1, the reserve; rounded up; never more than its maximum). Portable: PostgreSQL and SQLite.
# 64-bit arithmetic: a 2,000-millicore bundle at a CPU price above about a million overflows 32-bit integers.
_RAW_COST = (
    "(wall_seconds * (cpu_millicores * CAST(%(cpu_price)s AS BIGINT) + memory_mb * CAST(%(memory_price)s AS BIGINT))"
    " + 999999) / 1000000"
)
_COST = f"(CASE WHEN {_RAW_COST} < 1 THEN 1 ELSE {_RAW_COST} END)"  # a bid's cost at posted prices, at least 1


def _priority(cost: str, max_price: str = "max_price") -> str:
    return f"CAST({max_price} AS DOUBLE PRECISION) / {cost}"


_FIRST_LOSER_SQL = f"""
SELECT id, max_price, base_cost FROM (
    SELECT id, max_price, base_cost,
           ROW_NUMBER() OVER w AS rn, SUM(cpu_millicores) OVER w AS cpu, SUM(memory_mb) OVER w AS memory
    FROM (
        SELECT id, cpu_millicores, memory_mb, max_price, {_COST} AS base_cost
        FROM market_bid
        WHERE status = 'PENDING' AND tick_number = %(tick)s
    ) costed
    WINDOW w AS (ORDER BY RANKING ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
) running
WHERE cpu > %(cpu_supply)s OR memory > %(memory_supply)s
ORDER BY rn
LIMIT 1
"""

_CHARGE = f"({_COST} * CAST(%(num)s AS BIGINT) + CAST(%(den)s AS BIGINT) - 1) / CAST(%(den)s AS BIGINT)"
_CLEAR_SQL = f"""
UPDATE market_bid SET
    base_cost = {_COST},
    status = CASE WHEN WINS THEN 'WON' ELSE 'LOST' END,
    price = CASE WHEN NOT (WINS) THEN NULL WHEN {_CHARGE} < max_price THEN {_CHARGE} ELSE max_price END,
    closed_at = %(now)s
WHERE status = 'PENDING' AND tick_number = %(tick)s
"""


@dataclass
class _Cleared:
    states: dict[str, MarketState]
    prices: Prices
    supply: dict[str, int]
    multiple: float
    enqueue: bool | None


class ComputeBook(Book):
    """The compute market: bids for resource bundles, cleared at one uniform multiple of posted cost; the winners'
    bundles become executions (``bids_won``, received by the sandbox app)."""

    name = "market"
    bid_model = Bid
    tick_model = Tick
    clock_model = MarketClock
    unknown_bid = errors.UnknownBid
    bid_closed = errors.BidClosed

    def clear(
        self, *, number: int, clock: MarketClock, now, enqueue: bool | None = None, supply: dict[str, int] | None = None
    ) -> _Cleared:
        states = {s.resource.code: s for s in MarketState.objects.select_for_update().select_related("resource")}
        prices = Prices(cpu=states[ResourceType.CPU].price, memory=states[ResourceType.MEMORY].price)
        supply = supply or current_supply()
        params = {
            "cpu_price": prices.cpu,
            "memory_price": prices.memory,
            "tick": number,
            "cpu_supply": supply[ResourceType.CPU],
            "memory_supply": supply[ResourceType.MEMORY],
            "now": now,
        }
        with connection.cursor() as cursor:
            cursor.execute(_FIRST_LOSER_SQL.replace("RANKING", self.ranking(number, _priority("base_cost"))), params)
            loser = cursor.fetchone()
            if loser is None:  # everything fits: every bid wins at its posted cost
                wins, num, den = "1 = 1", 1, 1
            else:
                loser_id, loser_max, loser_cost = loser
                wins = self.ranks_before(
                    number,
                    _priority(_COST),
                    than_priority=_priority("%(loser_cost)s", "%(loser_max)s"),
                    than_id="%(loser_id)s",
                )
                # The uniform multiple every winner pays: the first loser's offer per credit of cost, at least 1.
                num, den = (loser_max, loser_cost) if loser_max > loser_cost else (1, 1)
                params |= {"loser_id": loser_id, "loser_max": loser_max, "loser_cost": loser_cost}
            cursor.execute(_CLEAR_SQL.replace("WINS", wins), params | {"num": num, "den": den})
        return _Cleared(states=states, prices=prices, supply=supply, multiple=num / den, enqueue=enqueue)

    def record(self, *, number, slot, started_at, clock, cleared: _Cleared, closed) -> Tick:
        won = Q(status=Bid.Status.WON)
        totals = closed.aggregate(
            bids=Count("id"),
            winners=Count("id", filter=won),
            demand_cpu=Coalesce(Sum("cpu_millicores"), 0),
            demand_memory=Coalesce(Sum("memory_mb"), 0),
            allocated_cpu=Coalesce(Sum("cpu_millicores", filter=won), 0),
            allocated_memory=Coalesce(Sum("memory_mb", filter=won), 0),
            revenue=Coalesce(Sum("price", filter=won), 0),
        )
        allocated = {ResourceType.CPU: totals["allocated_cpu"], ResourceType.MEMORY: totals["allocated_memory"]}
        supply = cleared.supply
        for code, state in cleared.states.items():
            state.supply = supply[code]
            state.observe(min(1.0, allocated[code] / supply[code]) if supply[code] else 1.0)
            state.save(update_fields=["supply", *MarketState.OBSERVED_FIELDS])
        return Tick.objects.create(
            number=number,
            slot=slot,
            started_at=started_at,
            finished_at=timezone.now(),
            bids=totals["bids"],
            winners=totals["winners"],
            supply=supply,
            demand={ResourceType.CPU: totals["demand_cpu"], ResourceType.MEMORY: totals["demand_memory"]},
            allocated=allocated,
            clearing_multiple=cleared.multiple,
            revenue=totals["revenue"],
            prices=cleared.prices.as_dict(),
            next_prices={code: state.price for code, state in cleared.states.items()},
        )

    def hand_on(self, *, tick: Tick, cleared: _Cleared) -> None:
        bids_won.send(sender=Tick, tick_number=tick.number, enqueue=cleared.enqueue)


BOOK = ComputeBook()


def run_market_tick(
    *, slot: int | None = None, enqueue: bool | None = None, supply: dict[str, int] | None = None
) -> Tick | None:
    """Close the open tick, allocate, settle, hand winners on, and move prices. Returns the tick, or None when the
    beat slot already ran (a duplicate or late delivery). ``enqueue`` says whether the winners' executions go to
    Celery (default: ``SANDBOX_DISPATCH == "celery"``; the embedded economy runs them itself); ``supply`` (per
    resource code) replaces the live worker hosts' capacity (the embedded economy offers its own, fixed)."""
    return BOOK.run_tick(slot=slot, enqueue=enqueue, supply=supply)


def update_market_state(*, state_id: int, changes: dict[str, object]) -> MarketState:
    """Staff change a resource's controller (floor, ceiling, target, smoothing, supply override); prices move only
    with ticks."""
    return update_controller(MarketState, pk=state_id, changes=changes)


def ensure_market_defaults() -> None:
    """Create the default resources, market states and clock where missing."""
    create_market_defaults(ResourceType, MarketState, MarketClock)
