"""The market's HTTP API: prices, bids and tick history."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from bidbook import api as bidbook_api
from bidbook.api import ControllerOutputSerializer, SealedBidOutputSerializer, controller_fields
from core.api import ReadView
from core.fields import BoundedIntegerField, StrictIntegerField
from market import selectors, services
from market.bundles import ResourceBundle
from market.models import Bid, Tick


class ResourcePriceSerializer(ControllerOutputSerializer):
    resource = serializers.CharField()
    unit = serializers.CharField()
    price = serializers.IntegerField(help_text="Posted (reserve) price, micro-credits per unit-second.")
    supply = serializers.IntegerField(help_text="Units offered in the open tick.")


class PricesOutputSerializer(serializers.Serializer):
    open_tick = serializers.IntegerField()
    tick_seconds = serializers.IntegerField()
    bid_fee = serializers.IntegerField()
    resources = ResourcePriceSerializer(many=True)


def bundle_field(resource: str, **kwargs: object) -> BoundedIntegerField:
    """A bundle dimension; its bounds (MARKET_MIN_/MAX_…) are checked by ``ResourceBundle`` and documented here."""
    low, high = settings.MARKET_BUNDLE_LIMITS[resource]
    return BoundedIntegerField(documented_min=low, documented_max=high, refusal_code="invalid_bundle", **kwargs)


class BidInputSerializer(serializers.Serializer):
    cpu_millicores = bundle_field("cpu_millicores")
    memory_mb = bundle_field("memory_mb")
    wall_seconds = bundle_field("wall_seconds")
    max_price = StrictIntegerField(min_value=1, max_value=settings.MARKET_MAX_BID)


class BidOutputSerializer(SealedBidOutputSerializer):
    class Meta:
        model = Bid
        fields = [
            "id", "status", "tick_number", "cpu_millicores", "memory_mb", "wall_seconds", "max_price", "held", "fee",
            "base_cost", "price", "created_at", "closed_at",
        ]  # fmt: skip


class TickOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tick
        fields = [
            "number", "started_at", "finished_at", "bids", "winners", "supply", "demand", "allocated",
            "clearing_multiple", "revenue", "prices", "next_prices",
        ]  # fmt: skip


class PricesView(ReadView):
    serializer_class = PricesOutputSerializer

    @extend_schema(operation_id="market_prices", responses=PricesOutputSerializer)
    def get(self, request: Request) -> Response:
        supply = services.current_supply()
        resources = [
            {
                "resource": s.resource.code,
                "unit": s.resource.unit,
                "supply": supply[s.resource.code],
                **controller_fields(s),
            }
            for s in selectors.market_states()
        ]
        data = {
            "open_tick": selectors.open_tick(),
            "tick_seconds": settings.MARKET_TICK_SECONDS,
            "bid_fee": settings.MARKET_BID_FEE,
            "resources": resources,
        }
        return Response(PricesOutputSerializer(data).data)


@bidbook_api.bids_view("market", services.BOOK, output=BidOutputSerializer, request=BidInputSerializer)
class BidsView(bidbook_api.BidsView):
    def place(self, request: Request, data: dict) -> Bid:
        bundle = ResourceBundle(data["cpu_millicores"], data["memory_mb"], data["wall_seconds"])
        return services.place_bid(agent_id=request.user.id, bundle=bundle, max_price=data["max_price"])


@bidbook_api.bid_detail_view("market", services.BOOK, output=BidOutputSerializer)
class BidDetailView(bidbook_api.BidDetailView):
    pass


class TicksView(ReadView):
    serializer_class = TickOutputSerializer

    @extend_schema(operation_id="market_ticks", responses=TickOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        return self.paginated(selectors.ticks())
