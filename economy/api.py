"""The economy's HTTP API: balances, transfers and history (paths from the seed plan)."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import ReadView, WriteView, validated
from core.fields import StrictCharField, StrictIntegerField
from economy import errors, selectors, services
from economy.models import Agent, Transfer


class BalanceOutputSerializer(serializers.Serializer):
    agent_id = serializers.IntegerField()
    balance = serializers.IntegerField(help_text="Credits the agent can spend now.")
    held = serializers.IntegerField(help_text="Credits held in escrow for pending bids.")


class TransferInputSerializer(serializers.Serializer):
    from_id = StrictIntegerField(min_value=1)
    to_id = StrictIntegerField(min_value=1)
    amount = StrictIntegerField(min_value=1, max_value=settings.BP_MAX_AMOUNT)
    memo = StrictCharField(max_length=settings.BP_MEMO_MAX_LENGTH, allow_blank=True, required=False, default="")


class TransferOutputSerializer(serializers.ModelSerializer):
    from_id = serializers.IntegerField(source="debit.agent_id", allow_null=True)
    to_id = serializers.IntegerField(source="credit.agent_id", allow_null=True)
    from_system = serializers.CharField(source="debit.system", allow_null=True)
    to_system = serializers.CharField(source="credit.system", allow_null=True)

    class Meta:
        model = Transfer
        fields = ["id", "kind", "from_id", "to_id", "from_system", "to_system", "amount", "memo", "created_at"]


def _ensure_self_or_staff(request: Request, agent_id: int) -> None:
    user = request.user
    if isinstance(user, Agent):
        if user.id != agent_id:
            raise errors.Forbidden("Agents may only read their own history.")
    elif not getattr(user, "is_staff", False):
        raise errors.Forbidden()


def _ensure_self_or_staff_balance(request: Request, agent_id: int) -> None:
    # A balance is private: it moves by a bid's maximum price when the bid is placed, so another agent reading it
    # (or ``held``) would read sealed bids (issue 9, finding 4).
    user = request.user
    if isinstance(user, Agent) and user.id != agent_id:
        raise errors.Forbidden("An agent's balance and escrow are private to the agent itself and staff.")


class BalanceView(ReadView):
    serializer_class = BalanceOutputSerializer

    @extend_schema(
        operation_id="economic_balance",
        responses=BalanceOutputSerializer,
        description="The caller's own balance and escrow (staff may read any agent's). Another agent's answers "
        "403 `forbidden`: balances move by sealed bids' maximum prices, so they are private.",
    )
    def get(self, request: Request, agent_id: int) -> Response:
        _ensure_self_or_staff_balance(request, agent_id)
        balance, held = selectors.get_balance_and_held(agent_id=agent_id)
        data = {"agent_id": agent_id, "balance": balance, "held": held}
        return Response(BalanceOutputSerializer(data).data)


class TransferView(WriteView):
    serializer_class = TransferInputSerializer

    @extend_schema(
        operation_id="economic_transfer",
        request=TransferInputSerializer,
        responses={201: TransferOutputSerializer},
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                required=False,
                description="Retrying with the same key and payload answers what the first request answered (the "
                "transfer, or the same refusal: `insufficient_funds`, `agent_dead`, `unknown_agent`) with the header "
                "`Idempotent-Replayed: true`, and moves nothing again; another payload under the key is 409 "
                "`idempotency_conflict`. Keys are per payer.",
            )
        ],
    )
    def post(self, request: Request) -> Response:
        data = validated(TransferInputSerializer, request)
        if data["from_id"] != request.user.id:
            raise errors.Forbidden("Agents may only transfer from their own account.")
        try:
            transfer = services.transfer_credits(
                from_id=data["from_id"],
                to_id=data["to_id"],
                amount=data["amount"],
                memo=data["memo"],
                idempotency_key=request.headers.get("Idempotency-Key"),
            )
        except errors.DomainError as exc:
            if getattr(exc, "replayed", False):  # the refusal this key got the first time, remembered
                body = {"code": exc.code, "detail": exc.detail, **exc.extra}
                return Response(body, status=exc.status, headers={"Idempotent-Replayed": "true"})
            raise
        headers = {"Idempotent-Replayed": "true"} if getattr(transfer, "replayed", False) else {}
        return Response(TransferOutputSerializer(transfer).data, status=status.HTTP_201_CREATED, headers=headers)


class HistoryView(ReadView):
    serializer_class = TransferOutputSerializer

    @extend_schema(operation_id="economic_history", responses=TransferOutputSerializer(many=True))
    def get(self, request: Request, agent_id: int) -> Response:
        _ensure_self_or_staff(request, agent_id)
        return self.paginated(selectors.get_history(agent_id=agent_id))
