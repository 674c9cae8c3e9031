"""Test data builders, in one place."""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor

from django.db import connections

from economy import services
from economy.models import Agent

_names = itertools.count(1)


def make_agent(*, credits: int = 0, name: str | None = None, parent: Agent | None = None) -> tuple[Agent, str]:
    """Create a living agent with ``credits`` minted to it; return it with its raw API token."""
    agent, issued = services.create_agent(name=name or f"agent-{next(_names)}", credits=credits, parent=parent)
    return agent, issued.raw


def auth(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def run_in_threads(work, count: int) -> list:
    """Run ``work(index)`` in ``count`` threads, each with its own database connection; return the results."""

    def wrapped(index):
        try:
            return work(index)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(wrapped, range(count)))


# --- sandbox ----------------------------------------------------------------------------------------------------


def make_program_agent(*, code: str | None = None, credits: int = 1000) -> tuple[Agent, str]:
    """An agent whose workspace holds ``code`` as agent.py (the default program when None)."""
    from sandbox.services import create_agent_with_program

    agent, issued = create_agent_with_program(
        name=f"agent-{next(_names)}", credits=credits, code=None if code is None else code.encode()
    )
    return agent, issued.raw


def make_worker(*, name: str | None = None) -> tuple[object, str]:
    """A sandbox worker token; return it with its raw secret."""
    from sandbox.services import issue_worker_token

    return issue_worker_token(name=name or f"worker-{next(_names)}")


def worker_auth(raw: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Worker {raw}"}


def make_execution(*, agent: Agent, cpu_millicores: int = 500, memory_mb: int = 128, wall_seconds: int = 10):
    """Win a bid for the bundle in a tick of its own; return the QUEUED execution the tick created."""
    from market.bundles import ResourceBundle
    from market.services import place_bid, run_market_tick
    from sandbox.models import Execution

    bid = place_bid(
        agent_id=agent.id, bundle=ResourceBundle(cpu_millicores, memory_mb, wall_seconds), max_price=500
    )
    run_market_tick()
    return Execution.objects.get(bid_id=bid.id)
