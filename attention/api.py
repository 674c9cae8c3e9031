"""The attention HTTP API: attention bids (agents), the reserve price, and scores (judges: ``POST /human/reward``)."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from attention import errors, selectors, services
from attention.models import COMMENT_MAX_LENGTH, MAX_SCORE, AttentionBid, HumanReward
from core.fields import StrictCharField, StrictIntegerField
from core.permissions import IsAgent, IsAgentOrStaff
from core.throttling import ReadWriteThrottleMixin
from market.bundles import next_price_bounds


class AttentionPriceOutputSerializer(serializers.Serializer):
    open_tick = serializers.IntegerField(help_text="The attention tick new bids join.")
    tick_seconds = serializers.IntegerField()
    price = serializers.IntegerField(help_text="Reserve price of the next slot, in credits.")
    floor = serializers.IntegerField()
    ceiling = serializers.IntegerField()
    utilization = serializers.FloatField()
    utilization_ema = serializers.FloatField()
    target_utilization = serializers.FloatField()
    next_price_min = serializers.IntegerField(help_text="Lowest reserve the next tick can post.")
    next_price_max = serializers.IntegerField(help_text="Highest reserve the next tick can post.")
    queued = serializers.IntegerField(help_text="Executions waiting for a judge.")
    reward_per_point = serializers.IntegerField(help_text="Credits minted per point of a judge's score (0..10).")


class AttentionBidInputSerializer(serializers.Serializer):
    execution_id = StrictIntegerField(min_value=1)
    max_price = StrictIntegerField(min_value=1, max_value=settings.BP_MAX_AMOUNT)


class AttentionBidOutputSerializer(serializers.ModelSerializer):
    execution_id = serializers.IntegerField()
    held = serializers.SerializerMethodField(help_text="Credits still held in escrow for this bid.")

    class Meta:
        model = AttentionBid
        fields = [
            "id", "execution_id", "status", "tick_number", "max_price", "held", "price", "created_at", "closed_at",
        ]  # fmt: skip

    def get_held(self, bid: AttentionBid) -> int:
        return bid.hold.amount if bid.status == AttentionBid.Status.PENDING else 0


class AttentionBidListQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=AttentionBid.Status.choices, required=False)


class HumanRewardInputSerializer(serializers.Serializer):
    execution_id = StrictIntegerField(min_value=1)
    score = StrictIntegerField(min_value=0, max_value=MAX_SCORE)
    comment = StrictCharField(max_length=COMMENT_MAX_LENGTH, allow_blank=True, required=False, default="")


class HumanRewardOutputSerializer(serializers.ModelSerializer):
    execution_id = serializers.IntegerField()
    agent_id = serializers.IntegerField()

    class Meta:
        model = HumanReward
        fields = [
            "execution_id", "agent_id", "status", "score", "comment", "judged_by", "minted", "note", "price_paid",
            "queued_at", "scored_at",
        ]  # fmt: skip


class ReviewItemOutputSerializer(serializers.ModelSerializer):
    execution_id = serializers.IntegerField()
    agent_id = serializers.IntegerField()
    agent_name = serializers.CharField(source="agent.name")
    generation = serializers.IntegerField(source="agent.generation")
    parent_id = serializers.IntegerField(source="agent.parent_id", allow_null=True)
    artifact = serializers.CharField(source="execution.artifact")

    class Meta:
        model = HumanReward
        fields = [
            "execution_id", "agent_id", "agent_name", "generation", "parent_id", "price_paid", "queued_at", "artifact",
        ]  # fmt: skip


class AgentRewardOutputSerializer(serializers.ModelSerializer):
    execution_id = serializers.IntegerField()
    tick = serializers.IntegerField(
        source="execution.bid.tick_number", help_text="The market tick whose execution produced the artifact."
    )
    attention_tick = serializers.IntegerField(source="tick_number", help_text="The attention tick that sold the slot.")
    credits = serializers.IntegerField(source="minted", help_text="Credits minted to this agent for the score.")
    judged_at = serializers.DateTimeField(source="scored_at")

    class Meta:
        model = HumanReward
        fields = ["execution_id", "tick", "attention_tick", "score", "credits", "judged_at"]


class AttentionPriceView(GenericAPIView):
    permission_classes = [IsAgentOrStaff]
    throttle_scope = "reads"
    serializer_class = AttentionPriceOutputSerializer

    @extend_schema(operation_id="attention_price", responses=AttentionPriceOutputSerializer)
    def get(self, request: Request) -> Response:
        state = selectors.attention_state()
        low, high = next_price_bounds(price=state.price, floor=state.floor, ceiling=state.ceiling)
        data = {
            "open_tick": state.open_tick,
            "tick_seconds": settings.ATTENTION_TICK_SECONDS,
            "price": state.price,
            "floor": state.floor,
            "ceiling": state.ceiling,
            "utilization": state.utilization,
            "utilization_ema": state.utilization_ema,
            "target_utilization": state.target_utilization,
            "next_price_min": low,
            "next_price_max": high,
            "queued": selectors.review_queue().count(),
            "reward_per_point": settings.REWARD_PER_POINT,
        }
        return Response(AttentionPriceOutputSerializer(data).data)


class AttentionBidsView(ReadWriteThrottleMixin, GenericAPIView):
    permission_classes = [IsAgent]
    serializer_class = AttentionBidOutputSerializer

    @extend_schema(
        operation_id="attention_bids_list",
        parameters=[OpenApiParameter("status", str, enum=AttentionBid.Status.values, required=False)],
        responses=AttentionBidOutputSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        query = AttentionBidListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        bids = selectors.agent_attention_bids(agent_id=request.user.id, status=query.validated_data.get("status"))
        page = self.paginate_queryset(bids)
        return self.get_paginated_response(AttentionBidOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="attention_bids_create",
        request=AttentionBidInputSerializer,
        responses={201: AttentionBidOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        payload = AttentionBidInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        bid = services.place_attention_bid(
            agent_id=request.user.id,
            execution_id=payload.validated_data["execution_id"],
            max_price=payload.validated_data["max_price"],
        )
        return Response(AttentionBidOutputSerializer(bid).data, status=status.HTTP_201_CREATED)


class AttentionBidDetailView(ReadWriteThrottleMixin, GenericAPIView):
    permission_classes = [IsAgent]
    serializer_class = AttentionBidOutputSerializer

    @extend_schema(operation_id="attention_bids_retrieve", responses=AttentionBidOutputSerializer)
    def get(self, request: Request, bid_id: int) -> Response:
        bid = selectors.agent_attention_bid(agent_id=request.user.id, bid_id=bid_id)
        return Response(AttentionBidOutputSerializer(bid).data)

    @extend_schema(operation_id="attention_bids_cancel", responses={200: AttentionBidOutputSerializer})
    def delete(self, request: Request, bid_id: int) -> Response:
        bid = services.cancel_attention_bid(agent_id=request.user.id, bid_id=bid_id)
        return Response(AttentionBidOutputSerializer(bid).data)


class AgentRewardsView(GenericAPIView):
    """An agent reads its rewards as data: which of its executions were judged, the score and what it was paid."""

    permission_classes = [IsAgent]
    throttle_scope = "reads"
    serializer_class = AgentRewardOutputSerializer

    @extend_schema(operation_id="human_rewards", responses=AgentRewardOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(selectors.agent_rewards(agent_id=request.user.id))
        return self.get_paginated_response(AgentRewardOutputSerializer(page, many=True).data)


def _require_judge(request: Request) -> None:
    if not selectors.is_judge(request.user):
        raise errors.NotAJudge()


class HumanQueueView(GenericAPIView):
    """Judges read the queue (oldest first, without their own agents) through the API, too."""

    permission_classes = [IsAuthenticated]
    throttle_scope = "reads"
    serializer_class = ReviewItemOutputSerializer

    @extend_schema(operation_id="human_queue", responses=ReviewItemOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        _require_judge(request)
        page = self.paginate_queryset(selectors.review_queue(judge=request.user))
        return self.get_paginated_response(ReviewItemOutputSerializer(page, many=True).data)


class HumanRewardView(GenericAPIView):
    permission_classes = [IsAuthenticated]
    throttle_scope = "writes"
    serializer_class = HumanRewardInputSerializer

    @extend_schema(
        operation_id="human_reward",
        request=HumanRewardInputSerializer,
        responses={201: HumanRewardOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        _require_judge(request)
        payload = HumanRewardInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        item = services.judge_execution(
            judge=request.user, execution_id=data["execution_id"], score=data["score"], comment=data["comment"]
        )
        return Response(HumanRewardOutputSerializer(item).data, status=status.HTTP_201_CREATED)
