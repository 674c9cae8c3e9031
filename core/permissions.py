"""Who may call a view. An agent is any authenticated principal whose class says ``is_agent = True`` (``economy``'s
``Agent`` does), so this module needs no app's models."""

from __future__ import annotations

from rest_framework.permissions import BasePermission


def is_agent(user: object) -> bool:
    return getattr(user, "is_agent", False) is True


class IsAgent(BasePermission):
    """The caller authenticated with an agent token."""

    message = "This endpoint is for agents (Authorization: Bearer <agent token>)."

    def has_permission(self, request, view) -> bool:
        return is_agent(request.user)


class IsAgentOrStaff(BasePermission):
    message = "This endpoint is for agents and staff."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return is_agent(user) or bool(getattr(user, "is_staff", False))
