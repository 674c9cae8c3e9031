"""Agents and their API tokens: creation (with an account and an optional endowment), issue, hashing, revocation."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from economy import errors
from economy.models import Account, Agent, AgentToken
from economy.services.ledger import SYSTEM_ACCOUNTS, mint_credits
from economy.token_cache import token_cache

TOKEN_PREFIX = "bpa_"  # noqa: S105 - a public prefix, not a secret


@dataclass(frozen=True)
class IssuedToken:
    token: AgentToken
    raw: str


def ensure_system_accounts() -> None:
    """Create the mint, treasury and escrow accounts if they are missing (fixed negative ids)."""
    for code, account_id in SYSTEM_ACCOUNTS.items():
        Account.objects.get_or_create(id=account_id, defaults={"system": code})


def issue_agent_token(*, agent: Agent, label: str = "", expires_at: datetime | None = None) -> IssuedToken:
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = AgentToken.objects.create(agent=agent, key_hash=hash_token(raw), label=label, expires_at=expires_at)
    return IssuedToken(token=token, raw=raw)


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def revoke_agent_tokens(*, agent_id: int | None = None, token_ids: QuerySet | list[int] | None = None) -> int:
    """Revoke every live token of an agent, or the given tokens (ids or a queryset of ids); returns how many."""
    if (agent_id is None) == (token_ids is None):
        raise ValueError("give agent_id or token_ids")
    live = AgentToken.objects.filter(revoked_at__isnull=True)
    live = live.filter(agent_id=agent_id) if agent_id is not None else live.filter(id__in=token_ids)
    hashes = list(live.values_list("key_hash", flat=True))
    revoked = live.update(revoked_at=timezone.now())
    # This process's token cache forgets them at commit; the others when PostgreSQL's notification arrives.
    transaction.on_commit(lambda: token_cache.evict_tokens(hashes))
    return revoked


@transaction.atomic
def create_agent(
    *,
    name: str,
    credits: int = 0,
    parent: Agent | None = None,
    memo: str = "genesis endowment",
    owner_id: int | None = None,
    issue_token: bool = True,
) -> tuple[Agent, IssuedToken | None]:
    """Create an agent with its account (and an API token unless told not to); mint ``credits`` when positive."""
    name = name.strip()
    if not name or len(name) > 100:
        raise errors.InvalidName()
    if isinstance(credits, bool) or not isinstance(credits, int) or credits < 0:
        raise errors.InvalidAmount("Credits must be a non-negative integer.")
    agent = Agent.objects.create(
        name=name,
        parent=parent,
        generation=(parent.generation + 1) if parent else 0,
        owner_id=owner_id if owner_id is not None else (parent.owner_id if parent else None),
    )
    Account.objects.create(agent=agent)
    if credits:
        mint_credits(agent_id=agent.id, amount=credits, memo=memo)
    return agent, issue_agent_token(agent=agent, label="created") if issue_token else None
