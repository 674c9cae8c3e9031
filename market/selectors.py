"""Reads of the market used by more than one caller."""

from __future__ import annotations

from django.db.models import QuerySet

from market import errors
from market.models import Bid, MarketClock, MarketState, Tick


def market_states() -> QuerySet[MarketState]:
    return MarketState.objects.select_related("resource").order_by("resource__code")


def open_tick() -> int:
    return MarketClock.objects.values_list("open_tick", flat=True).first() or 1


def agent_bids(*, agent_id: int, status: str | None = None) -> QuerySet[Bid]:
    bids = Bid.objects.filter(agent_id=agent_id).select_related("hold").order_by("-id")
    return bids.filter(status=status) if status else bids


def agent_bid(*, agent_id: int, bid_id: int) -> Bid:
    bid = agent_bids(agent_id=agent_id).filter(id=bid_id).first()
    if bid is None:
        raise errors.UnknownBid(f"No bid {bid_id} of yours.")
    return bid


def ticks() -> QuerySet[Tick]:
    return Tick.objects.order_by("-number")
