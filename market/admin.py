from django.contrib import admin

from bidbook.admin import ControllerAdmin
from core.admin import ReadOnlyAdmin
from market.models import Bid, MarketState, Tick, WorkerHost


@admin.register(MarketState)
class MarketStateAdmin(ControllerAdmin):
    """Staff tune the controller (targets, floors, ceilings, supply); prices and utilization move only by ticks."""

    list_display = [
        "resource", "price", "floor", "ceiling", "target_utilization", "utilization", "utilization_ema", "supply",
        "supply_override",
    ]  # fmt: skip
    fields = [
        "resource", "price", "floor", "ceiling", "target_utilization", "ema_alpha", "supply_override", "utilization",
        "utilization_ema", "supply", "updated_at",
    ]  # fmt: skip
    readonly_fields = ["resource", "price", "utilization", "utilization_ema", "supply", "updated_at"]


@admin.register(Bid)
class BidAdmin(ReadOnlyAdmin):
    list_display = ["id", "agent", "tick_number", "status", "max_price", "base_cost", "price", "created_at"]
    list_filter = ["status"]
    list_select_related = ["agent"]


@admin.register(Tick)
class TickAdmin(ReadOnlyAdmin):
    list_display = ["number", "started_at", "bids", "winners", "clearing_multiple", "revenue", "next_prices"]


@admin.register(WorkerHost)
class WorkerHostAdmin(ReadOnlyAdmin):
    list_display = ["name", "cpu_millicores", "memory_mb", "last_seen"]
