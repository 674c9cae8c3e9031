"""The bid API every book serves, once: list and place (``BidsView``), read and cancel (``BidDetailView``).

A market subclasses both views with the ``bids_view``/``bid_detail_view`` decorators (its name, book and serializers,
once) and implements ``place``. Bids are the agent's own: every read and write is filtered by the caller.
"""

from __future__ import annotations

from typing import ClassVar

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from bidbook.book import Book
from bidbook.models import PriceController, SealedBid
from core.api import ReadView, validated
from core.permissions import IsAgent
from core.throttling import ReadWriteThrottleMixin

HELD_HELP = "Credits still held in escrow for this bid."


# A price controller as the price endpoints show it (fill it with ``controller_fields``).
class ControllerOutputSerializer(serializers.Serializer):
    price = serializers.IntegerField(help_text="The posted (reserve) price.")
    floor = serializers.IntegerField()
    ceiling = serializers.IntegerField()
    utilization = serializers.FloatField()
    utilization_ema = serializers.FloatField()
    target_utilization = serializers.FloatField()
    next_price_min = serializers.IntegerField(help_text="Lowest price the next tick can post.")
    next_price_max = serializers.IntegerField(help_text="Highest price the next tick can post.")


def controller_fields(state: PriceController) -> dict[str, object]:
    low, high = state.next_price_bounds()
    names = ["price", "floor", "ceiling", "utilization", "utilization_ema", "target_utilization"]
    return {**{name: getattr(state, name) for name in names}, "next_price_min": low, "next_price_max": high}


# Base of a market's bid serializer (a comment, not a docstring: the OpenAPI schema would show it).
class SealedBidOutputSerializer(serializers.ModelSerializer):
    held = serializers.IntegerField(read_only=True, help_text=HELD_HELP)


class BidListQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=SealedBid.Status.choices, required=False)


def bids_view(market: str, book: Book, *, output: type[serializers.Serializer], request: type[serializers.Serializer]):
    """Make a :class:`BidsView` subclass a market's: its book, output and input serializers, and the OpenAPI
    operations ``<market>_bids_list`` and ``<market>_bids_create``."""

    def decorate(view: type[BidsView]) -> type[BidsView]:
        view.book, view.serializer_class, view.input_serializer_class = book, output, request
        return extend_schema_view(
            get=extend_schema(
                operation_id=f"{market}_bids_list",
                parameters=[OpenApiParameter("status", str, enum=SealedBid.Status.values, required=False)],
                responses=output(many=True),
            ),
            post=extend_schema(operation_id=f"{market}_bids_create", request=request, responses={201: output}),
        )(view)

    return decorate


def bid_detail_view(market: str, book: Book, *, output: type[serializers.Serializer]):
    """Make a :class:`BidDetailView` subclass a market's: its book, output serializer, and the OpenAPI operations
    ``<market>_bids_retrieve`` and ``<market>_bids_cancel``."""

    def decorate(view: type[BidDetailView]) -> type[BidDetailView]:
        view.book, view.serializer_class = book, output
        return extend_schema_view(
            get=extend_schema(operation_id=f"{market}_bids_retrieve", responses=output),
            delete=extend_schema(operation_id=f"{market}_bids_cancel", responses={200: output}),
        )(view)

    return decorate


class BidsView(ReadWriteThrottleMixin, ReadView):
    permission_classes = [IsAgent]
    book: ClassVar[Book]
    input_serializer_class: ClassVar[type[serializers.Serializer]]

    def place(self, request: Request, data: dict) -> SealedBid:
        raise NotImplementedError

    def get(self, request: Request) -> Response:
        query = BidListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return self.paginated(self.book.bids_of(agent_id=request.user.id, status=query.validated_data.get("status")))

    def post(self, request: Request) -> Response:
        bid = self.place(request, validated(self.input_serializer_class, request))
        return Response(self.get_serializer(bid).data, status=status.HTTP_201_CREATED)


class BidDetailView(ReadWriteThrottleMixin, ReadView):
    permission_classes = [IsAgent]
    book: ClassVar[Book]

    def get(self, request: Request, bid_id: int) -> Response:
        return Response(self.get_serializer(self.book.bid_of(agent_id=request.user.id, bid_id=bid_id)).data)

    def delete(self, request: Request, bid_id: int) -> Response:
        return Response(self.get_serializer(self.book.cancel(agent_id=request.user.id, bid_id=bid_id)).data)
