"""``Authorization: Bearer <token>`` authentication for agents (and, through the same table, workers' scoped tokens)."""

from __future__ import annotations

from django.db import connection
from django.db.models import Q
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.permissions import SAFE_METHODS

from core.authentication import TokenHeaderAuthentication
from core.db import fetch_one_prepared
from economy.models import Agent, AgentToken
from economy.services import hash_token
from economy.token_cache import token_cache


def _columns(model, alias: str) -> tuple[list[str], str]:
    fields = [f.attname for f in model._meta.concrete_fields]
    columns = ", ".join(f'{alias}."{model._meta.get_field(name).column}"' for name in fields)
    return fields, columns


_TOKEN_FIELDS, _TOKEN_COLUMNS = _columns(AgentToken, "t")
_AGENT_FIELDS, _AGENT_COLUMNS = _columns(Agent, "a")
# Every request of an agent runs this, so on PostgreSQL it is one prepared statement (the queryset below compiled
# on each call cost several times the statement itself).
_TOKEN_SQL = f"""
SELECT {_TOKEN_COLUMNS}, {_AGENT_COLUMNS}
FROM economy_agenttoken t JOIN economy_agent a ON a.id = t.agent_id
WHERE t.key_hash = %(hash)s AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > %(now)s)
"""
_SPLIT = len(_TOKEN_FIELDS)
_AGENT_ID = _TOKEN_FIELDS.index("agent_id")
_EXPIRES_AT = _TOKEN_FIELDS.index("expires_at")  # a cached row expires on time too


def live_token(raw: str, *, cached: bool = False) -> AgentToken | None:
    """The unrevoked, unexpired token whose secret is ``raw``, with its agent loaded (``token.agent``); else None.

    ``cached``: the caller only reads, so a row of this process's token cache will do (``economy.token_cache``: a
    token revoked or an agent that died is forgotten when PostgreSQL notifies it, at commit)."""
    key_hash, now = hash_token(raw), timezone.now()
    if connection.vendor != "postgresql":
        return (
            AgentToken.objects.select_related("agent")
            .filter(key_hash=key_hash, revoked_at__isnull=True)
            .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
            .first()
        )
    if cached and token_cache.usable():
        row = token_cache.get(key_hash)
        if row is None:
            generation = token_cache.generation
            row = fetch_one_prepared(_TOKEN_SQL, {"hash": key_hash, "now": now})
            if row is not None:
                token_cache.put(key_hash, row[_AGENT_ID], row, generation)
    else:
        row = fetch_one_prepared(_TOKEN_SQL, {"hash": key_hash, "now": now})
    if row is None or (row[_EXPIRES_AT] is not None and row[_EXPIRES_AT] <= now):
        return None
    token = AgentToken.from_db(connection.alias, _TOKEN_FIELDS, row[:_SPLIT])
    token.agent = Agent.from_db(connection.alias, _AGENT_FIELDS, row[_SPLIT:])
    return token


class AgentTokenAuthentication(TokenHeaderAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        self._cached = request.method in SAFE_METHODS  # writes always ask the database
        return super().authenticate(request)

    def authenticate_token(self, raw: str) -> tuple[Agent, AgentToken]:
        token = live_token(raw, cached=self._cached)
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
