"""Reads of the market used by more than one caller."""

from __future__ import annotations

from django.db.models import QuerySet

from market.models import MarketClock, MarketState, Tick


def market_states() -> QuerySet[MarketState]:
    return MarketState.objects.select_related("resource").order_by("resource__code")


def open_tick() -> int:
    return MarketClock.objects.values_list("open_tick", flat=True).first() or 1


def ticks() -> QuerySet[Tick]:
    return Tick.objects.order_by("-number")
