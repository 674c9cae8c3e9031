"""The evolution API: spawning, agents and lineage, messages, population statistics."""

from __future__ import annotations

import base64
import binascii

from django.conf import settings
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import ReadView, WriteView, validated
from core.fields import BoundedIntegerField, StrictCharField, StrictIntegerField
from core.permissions import IsAgent
from core.throttling import ReadWriteThrottleMixin
from economy.models import Agent
from evolution import selectors, services
from evolution.models import Message, PopulationStats
from market.api import bundle_field


class FirstBidSerializer(serializers.Serializer):
    cpu_millicores = bundle_field("cpu_millicores", required=False)
    memory_mb = bundle_field("memory_mb", required=False)
    wall_seconds = bundle_field("wall_seconds", required=False)
    max_price = StrictIntegerField(min_value=1, max_value=settings.MARKET_MAX_BID)


class SpawnInputSerializer(serializers.Serializer):
    name = StrictCharField(max_length=100)
    code = StrictCharField(required=False, trim_whitespace=False, help_text="The child's agent.py.")
    files = serializers.DictField(
        child=StrictCharField(trim_whitespace=False, allow_blank=True),
        required=False,
        help_text="Workspace files, name to base64 content (agent.py required unless `code` is given).",
    )
    endowment = BoundedIntegerField(
        min_value=1,
        documented_min=settings.SPAWN_MIN_ENDOWMENT,
        documented_max=settings.BP_MAX_AMOUNT,
        refusal_code="endowment_too_small",
        help_text=f"Credits the parent gives the child (the parent also pays the spawn fee, {settings.SPAWN_FEE}, "
        f"and must be alive; a birth beyond {settings.POPULATION_CAP} living agents is refused with 409 "
        "`population_cap`; above the maximum: 400 `invalid_amount`).",
    )
    first_bid = FirstBidSerializer(required=False, help_text="A bid the child places from its endowment at birth.")

    def validate(self, attrs: dict) -> dict:
        files: dict[str, bytes] = {}
        for name, encoded in (attrs.get("files") or {}).items():
            try:
                files[name] = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise serializers.ValidationError({"files": f"{name} is not base64."}, code="invalid_code") from exc
        if "code" in attrs:
            files["agent.py"] = attrs["code"].encode()
        if "agent.py" not in files:
            raise serializers.ValidationError({"code": "Give `code` or `files` with agent.py."}, code="invalid_code")
        attrs["workspace"] = files
        return attrs


class AgentOutputSerializer(serializers.ModelSerializer):
    parent_id = serializers.IntegerField(allow_null=True)
    balance = serializers.SerializerMethodField(
        help_text="The agent's balance, shown only to the agent itself and staff (null for anyone else): a balance "
        "moves by sealed bids' maximum prices."
    )

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_balance(self, agent: Agent) -> int | None:
        viewer = self.context.get("viewer")
        if viewer is None or (isinstance(viewer, Agent) and viewer.id != agent.id):
            return None
        return agent.account.balance

    class Meta:
        model = Agent
        fields = ["id", "name", "status", "generation", "parent_id", "balance", "created_at", "died_at", "death_cause"]


class LineageOutputSerializer(serializers.Serializer):
    agent = AgentOutputSerializer()
    ancestors = AgentOutputSerializer(many=True, help_text="Nearest first.")
    descendants = AgentOutputSerializer(many=True, help_text="By generation.")


class MessageInputSerializer(serializers.Serializer):
    to_id = StrictIntegerField(min_value=1)
    body = StrictCharField(max_length=settings.MESSAGE_MAX_CHARS, trim_whitespace=False)


class MessageOutputSerializer(serializers.ModelSerializer):
    from_id = serializers.IntegerField(source="sender_id")
    to_id = serializers.IntegerField(source="recipient_id")

    class Meta:
        model = Message
        fields = ["id", "from_id", "to_id", "body", "tick", "created_at"]


class PopulationStatsOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = PopulationStats
        fields = [
            "tick", "created_at", "alive", "births", "deaths", "max_generation", "credits_in_circulation", "minted",
            "burned", "gini", "minted_in_tick", "burned_in_tick", "selection_differential", "diversity",
        ]  # fmt: skip


class SpawnView(WriteView):
    serializer_class = SpawnInputSerializer

    @extend_schema(operation_id="evolution_spawn", request=SpawnInputSerializer, responses={201: AgentOutputSerializer})
    def post(self, request: Request) -> Response:
        data = validated(SpawnInputSerializer, request)
        child = services.spawn_agent(
            parent_id=request.user.id,
            name=data["name"],
            files=data["workspace"],
            endowment=data["endowment"],
            first_bid=data.get("first_bid"),
        )
        child.refresh_from_db()
        return Response(
            AgentOutputSerializer(child, context={"viewer": request.user}).data, status=status.HTTP_201_CREATED
        )


class AgentDetailView(ReadView):
    serializer_class = AgentOutputSerializer

    @extend_schema(operation_id="evolution_agent", responses=AgentOutputSerializer)
    def get(self, request: Request, agent_id: int) -> Response:
        agent = selectors.agent_detail(agent_id=agent_id)
        return Response(AgentOutputSerializer(agent, context={"viewer": request.user}).data)


class LineageView(ReadView):
    serializer_class = LineageOutputSerializer

    @extend_schema(operation_id="evolution_lineage", responses=LineageOutputSerializer)
    def get(self, request: Request, agent_id: int) -> Response:
        agent = selectors.agent_detail(agent_id=agent_id)
        data = {
            "agent": agent,
            "ancestors": selectors.ancestors(agent=agent),
            "descendants": selectors.descendants(agent=agent),
        }
        return Response(LineageOutputSerializer(data, context={"viewer": request.user}).data)


class MessagesView(ReadWriteThrottleMixin, GenericAPIView):
    permission_classes = [IsAgent]
    serializer_class = MessageOutputSerializer

    @extend_schema(operation_id="social_inbox", responses=MessageOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(selectors.inbox(agent_id=request.user.id))
        return self.get_paginated_response(MessageOutputSerializer(page, many=True).data)

    @extend_schema(operation_id="social_send", request=MessageInputSerializer, responses={201: MessageOutputSerializer})
    def post(self, request: Request) -> Response:
        data = validated(MessageInputSerializer, request)
        message = services.send_message(sender_id=request.user.id, to_id=data["to_id"], body=data["body"])
        return Response(MessageOutputSerializer(message).data, status=status.HTTP_201_CREATED)


class PopulationStatsView(ReadView):
    serializer_class = PopulationStatsOutputSerializer

    @extend_schema(operation_id="evolution_stats", responses=PopulationStatsOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        return self.paginated(selectors.population_stats())
