"""Base views shared by the apps' APIs."""

from __future__ import annotations

from django.db.models import QuerySet
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from core.permissions import IsAgentOrStaff


# A read-only endpoint for agents and staff, counted against the ``reads`` throttle. (A comment, not a docstring:
# drf-spectacular would show it as the description of every view without one.)
class ReadView(GenericAPIView):
    permission_classes = [IsAgentOrStaff]
    throttle_scope = "reads"

    def paginated(self, queryset: QuerySet) -> Response:
        """One page of ``queryset`` through the view's serializer."""
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)
