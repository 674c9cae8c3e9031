"""``Authorization: Bearer <token>`` authentication for agents (and, through the same table, workers' scoped tokens)."""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions

from core.authentication import TokenHeaderAuthentication
from economy.models import Agent, AgentToken
from economy.services import hash_token


class AgentTokenAuthentication(TokenHeaderAuthentication):
    keyword = "Bearer"

    def authenticate_token(self, raw: str) -> tuple[Agent, AgentToken]:
        now = timezone.now()
        token = (
            AgentToken.objects.select_related("agent")
            .filter(key_hash=hash_token(raw), revoked_at__isnull=True)
            .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
            .first()
        )
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked token.")
        if not token.agent.is_alive:
            raise exceptions.AuthenticationFailed("The agent is dead.")
        return token.agent, token


class AgentTokenScheme(OpenApiAuthenticationExtension):
    target_class = "economy.auth.AgentTokenAuthentication"
    name = "agentToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer"}
