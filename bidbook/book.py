"""The escrowed sealed-bid book: lock, place, cancel, cancel-all, and the shape of every tick.

A market is a subclass of :class:`Book` naming its models and errors and writing only what is its own:

- :meth:`Book.clear` — the clearing rule: set the tick's pending bids WON (with ``price``) or LOST;
- :meth:`Book.record` — step the price controller(s) and write the tick row;
- :meth:`Book.hand_on` — what a win hands on (an execution, a review item).

:meth:`Book.run_tick` is the same for every market: lock the clock exclusively, skip a beat slot that already ran,
open the next tick, clear, settle every closed bid's escrow in one set-based statement
(``economy.services.settle_holds_bulk``), record, hand on — all in one transaction. Bidders lock the clock shared,
so a tick sees every bid placed before it and none placed after.

Every clearing ranks bids with :meth:`Book.ranking` (:func:`rank_sql`), and compares two bids' places in that order
with :meth:`Book.ranks_before` (:func:`ranks_before_sql`): change the order there and both markets follow.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, ClassVar

from django.db import IntegrityError, connection, models, transaction
from django.db.models import QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from bidbook import errors
from bidbook.models import BookTick, PriceController, SealedBid
from core.errors import DomainError
from economy import services as ledger
from economy.determinism import TieBreak


def rank_sql(priority: str, *, tie: TieBreak, id_column: str = "id") -> str:
    """The one ORDER BY of every clearing: the highest ``priority`` first; ties go to the tick's seeded draw
    (``economy.determinism.TieBreak``, never arrival order), equal draws to the lower id. For statements executed
    with parameters (``%%`` is the modulo operator there)."""
    return f"{priority} DESC, {tie.sql(id_column)}, {id_column}"


def ranks_before_sql(priority: str, *, tie: TieBreak, than_priority: str, than_id: str, id_column: str = "id") -> str:
    """A predicate: the row ranks before the one whose priority and id are the SQL expressions ``than_priority`` and
    ``than_id``, in :func:`rank_sql`'s order (one row-value comparison, PostgreSQL and SQLite alike). With the first
    loser's, a clearing marks its winners in one pass over the bids, without joining them back to the ranking."""
    mine = f"-({priority}), {tie.sql(id_column)}, {id_column}"
    return f"({mine}) < (-({than_priority}), {tie.sql(than_id)}, {than_id})"


def ensure_row(model: type[models.Model], *, default: models.Model) -> None:
    """Create the singleton row ``id=1`` of ``model`` from ``default`` if it is missing."""
    if not model.objects.filter(id=1).exists():
        try:
            with transaction.atomic():
                default.save(force_insert=True)
        except IntegrityError:
            pass  # created concurrently


def lock_row(model: type[models.Model], *, exclusive: bool, default: models.Model) -> Any:
    """Lock the singleton row ``id=1`` of ``model`` (FOR SHARE or FOR UPDATE), creating ``default`` if missing."""
    if connection.vendor == "postgresql":
        # A transaction-scoped advisory lock first: PostgreSQL queues those fairly, so a waiting tick holds back new
        # bidders. Row share locks alone are not queued: a steady stream of overlapping bids kept the market tick
        # waiting for as long as the stream lasted (the load test's first tick took the whole minute).
        advisory = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {advisory}(hashtext(%s))", [model._meta.db_table])
    for _attempt in range(2):
        if connection.vendor == "postgresql" and not exclusive:
            sql = f"SELECT * FROM {model._meta.db_table} WHERE id = 1 FOR SHARE"
            row = next(iter(model.objects.raw(sql)), None)
        else:
            row = model.objects.select_for_update().filter(id=1).first()
        if row is not None:
            return row
        ensure_row(model, default=default)
    raise RuntimeError(f"{model.__name__} row 1 could not be created")


def update_controller(controller: type[PriceController], *, pk: int, changes: dict[str, object]) -> PriceController:
    """Staff change a controller's ``EDITABLE`` fields, and only those: the row is locked and saved with
    ``update_fields``, so a tick committing meanwhile keeps its price and utilization. A change that breaks the
    bounds is refused (``InvalidControllerSettings``), never a server error."""
    unknown = set(changes) - set(controller.EDITABLE)
    if unknown:
        raise errors.NotEditable(f"Not editable: {', '.join(sorted(unknown))}.")
    with transaction.atomic():
        state = controller.objects.select_for_update().get(pk=pk)
        for name, value in changes.items():
            setattr(state, name, value)
        try:
            with transaction.atomic():
                state.save(update_fields=[*changes, "updated_at"])
        except IntegrityError as exc:
            raise errors.InvalidControllerSettings(
                f"floor {state.floor} <= price {state.price} <= ceiling {state.ceiling} must hold (floor > 0); "
                "target and smoothing lie within (0, 1]."
            ) from exc
        return state


class Book:
    """One market's sealed-bid book. Subclasses set the class attributes and implement the three hooks."""

    name: ClassVar[str]  # the market's name in its seeded tie-breaks ("market", "attention")
    bid_model: ClassVar[type[SealedBid]]
    tick_model: ClassVar[type[BookTick]]
    clock_model: ClassVar[type[models.Model]]  # the singleton row (id 1) whose ``open_tick`` new bids join
    tick_name: ClassVar[str] = "tick"  # in memos: "<tick_name> <number>"
    unknown_bid: ClassVar[type[DomainError]]
    bid_closed: ClassVar[type[DomainError]]

    # --- the clock --------------------------------------------------------------------------------------------

    def default_clock(self) -> models.Model:
        return self.clock_model(id=1)

    def lock(self, *, exclusive: bool) -> Any:
        """Lock the clock (shared for bidders, exclusive for the tick) and return its row."""
        return lock_row(self.clock_model, exclusive=exclusive, default=self.default_clock())

    @contextmanager
    def bidding(self) -> Iterator[Any]:
        """A transaction holding the clock shared: yields its row (``open_tick`` is the tick new bids join)."""
        with transaction.atomic():
            yield self.lock(exclusive=False)

    # --- bids -------------------------------------------------------------------------------------------------

    def place(self, *, agent_id: int, tick_number: int, max_price: int, memo: str, **fields: object) -> SealedBid:
        """Hold ``max_price`` in escrow and write the bid; inside :meth:`bidding`, after the market's own checks."""
        hold = ledger.hold_credits(agent_id=agent_id, amount=max_price, memo=memo)
        return self.bid_model.objects.create(
            agent_id=agent_id, tick_number=tick_number, max_price=max_price, hold=hold, **fields
        )

    def cancel(self, *, agent_id: int, bid_id: int) -> SealedBid:
        """Withdraw a pending bid of the agent's before its tick closes; its escrow is released in full."""
        label = self.bid_model._meta.verbose_name
        with self.bidding():
            bid = self.bid_model.objects.filter(id=bid_id, agent_id=agent_id).first()
            if bid is None:
                raise self.unknown_bid(f"No {label} {bid_id} of yours.")
            cancelled = self.bid_model.objects.filter(id=bid_id, status=SealedBid.Status.PENDING).update(
                status=SealedBid.Status.CANCELLED, closed_at=timezone.now()
            )
            if cancelled != 1:
                raise self.bid_closed(f"{label.capitalize()} {bid_id} is {bid.status}.")
            ledger.release_hold(hold_id=bid.hold_id, memo=f"{label} {bid_id} cancelled")
            bid.refresh_from_db()
            return bid

    def cancel_all(self, *, agent_id: int) -> int:
        """Cancel every pending bid of an agent (when it dies); returns how many."""
        count = 0
        pending = self.bid_model.objects.filter(agent_id=agent_id, status=SealedBid.Status.PENDING)
        for bid_id in pending.values_list("id", flat=True):
            try:
                self.cancel(agent_id=agent_id, bid_id=bid_id)
                count += 1
            except self.bid_closed:
                pass
        return count

    def bids_of(self, *, agent_id: int, status: str | None = None) -> QuerySet:
        bids = self.bid_model.objects.filter(agent_id=agent_id).select_related("hold").order_by("-id")
        return bids.filter(status=status) if status else bids

    def bid_of(self, *, agent_id: int, bid_id: int) -> SealedBid:
        bid = self.bids_of(agent_id=agent_id).filter(id=bid_id).first()
        if bid is None:
            raise self.unknown_bid(f"No {self.bid_model._meta.verbose_name} {bid_id} of yours.")
        return bid

    # --- the tick ---------------------------------------------------------------------------------------------

    def ranking(self, number: int, priority: str, *, id_column: str = "id") -> str:
        """The ORDER BY of tick ``number``'s clearing (see :func:`rank_sql`)."""
        return rank_sql(priority, tie=TieBreak.for_tick(self.name, number), id_column=id_column)

    def ranks_before(
        self, number: int, priority: str, *, than_priority: str, than_id: str, id_column: str = "id"
    ) -> str:
        """Whether a row ranks before another in tick ``number``'s clearing (see :func:`ranks_before_sql`)."""
        tie = TieBreak.for_tick(self.name, number)
        return ranks_before_sql(priority, tie=tie, than_priority=than_priority, than_id=than_id, id_column=id_column)

    def run_tick(self, *, slot: int | None = None, **options: Any) -> BookTick | None:
        """Close the open tick: clear, settle, record, hand on. Returns the tick, or None when the beat ``slot``
        already ran (a duplicate or late delivery changes nothing). ``options`` go to the market's :meth:`clear`."""
        with transaction.atomic():
            clock = self.lock(exclusive=True)
            if slot is not None and self.tick_model.objects.filter(slot=slot).exists():
                return None
            number = clock.open_tick
            self.clock_model.objects.filter(id=1).update(open_tick=number + 1)
            now = timezone.now()
            cleared = self.clear(number=number, clock=clock, now=now, **options)
            closed = self.bid_model.objects.filter(
                tick_number=number, status__in=[SealedBid.Status.WON, SealedBid.Status.LOST]
            )
            ledger.settle_holds_bulk(
                settlements=closed.values_list("hold_id", Coalesce("price", Value(0))),
                memo=f"{self.tick_name} {number}",
            )
            tick = self.record(number=number, slot=slot, started_at=now, clock=clock, cleared=cleared, closed=closed)
            self.hand_on(tick=tick, cleared=cleared)
            return tick

    def clear(self, *, number: int, clock: Any, now: datetime, **options: Any) -> Any:
        """Set every PENDING bid of tick ``number`` WON (with its ``price``) or LOST, ``closed_at=now``; return
        whatever :meth:`record` and :meth:`hand_on` need."""
        raise NotImplementedError

    def record(
        self, *, number: int, slot: int | None, started_at: datetime, clock: Any, cleared: Any, closed: QuerySet
    ) -> BookTick:
        """Step the price controller(s) with what was allocated and write the tick row."""
        raise NotImplementedError

    def hand_on(self, *, tick: BookTick, cleared: Any) -> None:
        """What the winners get besides their settled escrow (in the tick's transaction)."""
