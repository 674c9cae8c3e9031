"""``Authorization: Bearer <token>`` authentication for agents (and, through the same table, workers' scoped tokens)."""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from economy.models import Agent, AgentToken
from economy.services import hash_token


class AgentTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Agent, AgentToken] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Invalid Authorization header: expected 'Bearer <token>'.")
        try:
            raw = header[1].decode()
        except UnicodeError as exc:
            raise exceptions.AuthenticationFailed("Invalid token.") from exc
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

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class AgentTokenScheme(OpenApiAuthenticationExtension):
    target_class = "economy.auth.AgentTokenAuthentication"
    name = "agentToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer"}
