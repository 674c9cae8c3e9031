"""The market's HTTP API: prices, bids and tick history."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from core.fields import BoundedIntegerField, StrictIntegerField
from core.permissions import IsAgent, IsAgentOrStaff
from core.throttling import ReadWriteThrottleMixin
from market import selectors, services
from market.bundles import ResourceBundle, next_price_bounds
from market.models import Bid, Tick


class ResourcePriceSerializer(serializers.Serializer):
    resource = serializers.CharField()
    unit = serializers.CharField()
    price = serializers.IntegerField(help_text="Posted (reserve) price, micro-credits per unit-second.")
    supply = serializers.IntegerField(help_text="Units offered in the open tick.")
    utilization = serializers.FloatField()
    utilization_ema = serializers.FloatField()
    target_utilization = serializers.FloatField()
    floor = serializers.IntegerField()
    ceiling = serializers.IntegerField()
    next_price_min = serializers.IntegerField(help_text="Lowest price the next tick can post.")
    next_price_max = serializers.IntegerField(help_text="Highest price the next tick can post.")


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


class BidOutputSerializer(serializers.ModelSerializer):
    held = serializers.SerializerMethodField(help_text="Credits still held in escrow for this bid.")

    class Meta:
        model = Bid
        fields = [
            "id", "status", "tick_number", "cpu_millicores", "memory_mb", "wall_seconds", "max_price", "held", "fee",
            "base_cost", "price", "created_at", "closed_at",
        ]  # fmt: skip

    def get_held(self, bid: Bid) -> int:
        return bid.hold.amount if bid.status == Bid.Status.PENDING else 0


class BidListQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Bid.Status.choices, required=False)


class TickOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tick
        fields = [
            "number", "started_at", "finished_at", "bids", "winners", "supply", "demand", "allocated",
            "clearing_multiple", "revenue", "prices", "next_prices",
        ]  # fmt: skip


class PricesView(GenericAPIView):
    permission_classes = [IsAgentOrStaff]
    throttle_scope = "reads"
    serializer_class = PricesOutputSerializer

    @extend_schema(operation_id="market_prices", responses=PricesOutputSerializer)
    def get(self, request: Request) -> Response:
        supply = services.current_supply()
        resources = []
        for state in selectors.market_states():
            price = state.price
            low, high = next_price_bounds(price=price, floor=state.floor, ceiling=state.ceiling)
            resources.append(
                {
                    "resource": state.resource.code,
                    "unit": state.resource.unit,
                    "price": price,
                    "supply": supply[state.resource.code],
                    "utilization": state.utilization,
                    "utilization_ema": state.utilization_ema,
                    "target_utilization": state.target_utilization,
                    "floor": state.floor,
                    "ceiling": state.ceiling,
                    "next_price_min": low,
                    "next_price_max": high,
                }
            )
        data = {
            "open_tick": selectors.open_tick(),
            "tick_seconds": settings.MARKET_TICK_SECONDS,
            "bid_fee": settings.MARKET_BID_FEE,
            "resources": resources,
        }
        return Response(PricesOutputSerializer(data).data)


class BidsView(ReadWriteThrottleMixin, GenericAPIView):
    permission_classes = [IsAgent]
    serializer_class = BidOutputSerializer

    @extend_schema(
        operation_id="market_bids_list",
        parameters=[OpenApiParameter("status", str, enum=Bid.Status.values, required=False)],
        responses=BidOutputSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        query = BidListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        bids = selectors.agent_bids(agent_id=request.user.id, status=query.validated_data.get("status"))
        page = self.paginate_queryset(bids)
        return self.get_paginated_response(BidOutputSerializer(page, many=True).data)

    @extend_schema(operation_id="market_bids_create", request=BidInputSerializer, responses={201: BidOutputSerializer})
    def post(self, request: Request) -> Response:
        payload = BidInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        bid = services.place_bid(
            agent_id=request.user.id,
            bundle=ResourceBundle(data["cpu_millicores"], data["memory_mb"], data["wall_seconds"]),
            max_price=data["max_price"],
        )
        return Response(BidOutputSerializer(bid).data, status=status.HTTP_201_CREATED)


class BidDetailView(ReadWriteThrottleMixin, GenericAPIView):
    permission_classes = [IsAgent]
    serializer_class = BidOutputSerializer

    @extend_schema(operation_id="market_bids_retrieve", responses=BidOutputSerializer)
    def get(self, request: Request, bid_id: int) -> Response:
        return Response(BidOutputSerializer(selectors.agent_bid(agent_id=request.user.id, bid_id=bid_id)).data)

    @extend_schema(operation_id="market_bids_cancel", responses={200: BidOutputSerializer})
    def delete(self, request: Request, bid_id: int) -> Response:
        bid = services.cancel_bid(agent_id=request.user.id, bid_id=bid_id)
        return Response(BidOutputSerializer(bid).data)


class TicksView(GenericAPIView):
    permission_classes = [IsAgentOrStaff]
    throttle_scope = "reads"
    serializer_class = TickOutputSerializer

    @extend_schema(operation_id="market_ticks", responses=TickOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(selectors.ticks())
        return self.get_paginated_response(TickOutputSerializer(page, many=True).data)
