from __future__ import annotations

from rest_framework.permissions import BasePermission

from economy.models import Agent


class IsAgent(BasePermission):
    """The caller authenticated with an agent token."""

    message = "This endpoint is for agents (Authorization: Bearer <agent token>)."

    def has_permission(self, request, view) -> bool:
        return isinstance(request.user, Agent)


class IsAgentOrStaff(BasePermission):
    message = "This endpoint is for agents and staff."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return isinstance(user, Agent) or bool(getattr(user, "is_staff", False))
