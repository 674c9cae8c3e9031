"""The attention HTTP API: attention bids (agents), the reserve price, and scores (judges: ``POST /human/reward``)."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from attention import errors, selectors, services
from attention.models import COMMENT_MAX_LENGTH, MAX_SCORE, AttentionBid, HumanReward
from bidbook import api as bidbook_api
from bidbook.api import ControllerOutputSerializer, SealedBidOutputSerializer, controller_fields
from core.api import ReadView, WriteView, validated
from core.fields import StrictCharField, StrictIntegerField
from core.permissions import IsAgent


class AttentionPriceOutputSerializer(ControllerOutputSerializer):
    open_tick = serializers.IntegerField(help_text="The attention tick new bids join.")
    tick_seconds = serializers.IntegerField()
    price = serializers.IntegerField(help_text="Reserve price of the next slot, in credits.")
    queued = serializers.IntegerField(help_text="Executions waiting for a judge.")
    reward_per_point = serializers.IntegerField(help_text="Credits minted per point of a judge's score (0..10).")


class AttentionBidInputSerializer(serializers.Serializer):
    execution_id = StrictIntegerField(min_value=1)
    max_price = StrictIntegerField(min_value=1, max_value=settings.BP_MAX_AMOUNT)


class AttentionBidOutputSerializer(SealedBidOutputSerializer):
    execution_id = serializers.IntegerField()

    class Meta:
        model = AttentionBid
        fields = [
            "id", "execution_id", "status", "tick_number", "max_price", "held", "price", "created_at", "closed_at",
        ]  # fmt: skip


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


class AttentionPriceView(ReadView):
    serializer_class = AttentionPriceOutputSerializer

    @extend_schema(operation_id="attention_price", responses=AttentionPriceOutputSerializer)
    def get(self, request: Request) -> Response:
        state = selectors.attention_state()
        data = {
            "open_tick": state.open_tick,
            "tick_seconds": settings.ATTENTION_TICK_SECONDS,
            **controller_fields(state),
            "queued": selectors.review_queue().count(),
            "reward_per_point": settings.REWARD_PER_POINT,
        }
        return Response(AttentionPriceOutputSerializer(data).data)


@bidbook_api.bids_view(
    "attention", services.BOOK, output=AttentionBidOutputSerializer, request=AttentionBidInputSerializer
)
class AttentionBidsView(bidbook_api.BidsView):
    def place(self, request: Request, data: dict) -> AttentionBid:
        return services.place_attention_bid(
            agent_id=request.user.id, execution_id=data["execution_id"], max_price=data["max_price"]
        )


@bidbook_api.bid_detail_view("attention", services.BOOK, output=AttentionBidOutputSerializer)
class AttentionBidDetailView(bidbook_api.BidDetailView):
    pass


class AgentRewardsView(ReadView):
    """An agent reads its rewards as data: which of its executions were judged, the score and what it was paid."""

    permission_classes = [IsAgent]
    serializer_class = AgentRewardOutputSerializer

    @extend_schema(operation_id="human_rewards", responses=AgentRewardOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        return self.paginated(selectors.agent_rewards(agent_id=request.user.id))


def _require_judge(request: Request) -> None:
    if not selectors.is_judge(request.user):
        raise errors.NotAJudge()


class HumanQueueView(ReadView):
    """Judges read the queue (oldest first, without their own agents) through the API, too."""

    permission_classes = [IsAuthenticated]
    serializer_class = ReviewItemOutputSerializer

    @extend_schema(operation_id="human_queue", responses=ReviewItemOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        _require_judge(request)
        return self.paginated(selectors.review_queue(judge=request.user))


class HumanRewardView(WriteView):
    permission_classes = [IsAuthenticated]
    serializer_class = HumanRewardInputSerializer

    @extend_schema(
        operation_id="human_reward",
        request=HumanRewardInputSerializer,
        responses={201: HumanRewardOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        _require_judge(request)
        data = validated(HumanRewardInputSerializer, request)
        item = services.judge_execution(
            judge=request.user, execution_id=data["execution_id"], score=data["score"], comment=data["comment"]
        )
        return Response(HumanRewardOutputSerializer(item).data, status=status.HTTP_201_CREATED)
