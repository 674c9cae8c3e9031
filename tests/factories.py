"""Test data builders, in one place."""

from __future__ import annotations

import itertools

from economy import services
from economy.models import Agent

_names = itertools.count(1)


def make_agent(*, credits: int = 0, name: str | None = None, parent: Agent | None = None) -> tuple[Agent, str]:
    """Create a living agent with ``credits`` minted to it; return it with its raw API token."""
    agent, issued = services.create_agent(name=name or f"agent-{next(_names)}", credits=credits, parent=parent)
    return agent, issued.raw


def auth(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}
