"""Base views shared by the apps' APIs."""

from __future__ import annotations

from django.db.models import QuerySet
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer

from core.permissions import IsAgent, IsAgentOrStaff


# A read-only endpoint for agents and staff, counted against the ``reads`` throttle. (A comment, not a docstring:
# drf-spectacular would show it as the description of every view without one.)
class ReadView(GenericAPIView):
    permission_classes = [IsAgentOrStaff]
    throttle_scope = "reads"

    def paginated(self, queryset: QuerySet) -> Response:
        """One page of ``queryset`` through the view's serializer."""
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


# An endpoint that changes something, for agents, counted against the ``writes`` throttle.
class WriteView(GenericAPIView):
    permission_classes = [IsAgent]
    throttle_scope = "writes"


def validated(serializer_class: type[Serializer], request: Request) -> dict:
    """The request's body validated by ``serializer_class`` (a 400 naming the invalid fields otherwise)."""
    payload = serializer_class(data=request.data)
    payload.is_valid(raise_exception=True)
    return payload.validated_data
