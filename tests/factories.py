"""Test data builders, in one place."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from django.db import connections, transaction

from economy import services
from economy.models import Agent

_names = itertools.count(1)


def make_agent(*, credits: int = 0, name: str | None = None, parent: Agent | None = None) -> tuple[Agent, str]:
    """Create a living agent with ``credits`` minted to it; return it with its raw API token."""
    agent, issued = services.create_agent(name=name or f"agent-{next(_names)}", credits=credits, parent=parent)
    return agent, issued.raw


def auth(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


class _Rollback(Exception):
    pass


@contextmanager
def rolled_back() -> Iterator[None]:
    """A savepoint that is always rolled back, so property-test examples never see each other's rows. An assertion
    failing inside still propagates."""
    try:
        with transaction.atomic():
            yield
            raise _Rollback
    except _Rollback:
        pass


def run_in_threads(work, count: int) -> list:
    """Run ``work(index)`` in ``count`` threads, each with its own database connection; return the results."""

    def wrapped(index):
        try:
            return work(index)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(wrapped, range(count)))


def run_while_ticking(tick: Callable[[], object], bidders: list[Callable[[], None]]) -> int:
    """Run ``tick()`` over and over in one thread (at least twice, and until every bidder is done) while each bidder
    runs in a thread of its own; every thread has its own database connection. Returns how many ticks ran."""
    remaining = [len(bidders)]
    lock, done = threading.Lock(), threading.Event()

    def work(index: int) -> int:
        if index == 0:
            ticks = 0
            while not done.is_set() or ticks < 2:
                tick()
                ticks += 1
            return ticks
        try:
            bidders[index - 1]()
        finally:
            with lock:
                remaining[0] -= 1
                if remaining[0] == 0:
                    done.set()
        return 0

    return run_in_threads(work, len(bidders) + 1)[0]


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

    bid = place_bid(agent_id=agent.id, bundle=ResourceBundle(cpu_millicores, memory_mb, wall_seconds), max_price=500)
    run_market_tick()
    return Execution.objects.get(bid_id=bid.id)


# --- attention ----------------------------------------------------------------------------------------------------


def make_finished_execution(*, agent: Agent, artifact: str = "an artifact", status: str = "SUCCEEDED"):
    """An execution of ``agent`` (won in a market tick of its own, so the agent needs 501 credits) that finished
    with ``status`` carrying ``artifact``; the rows are updated directly, as a worker's result would."""
    from django.utils import timezone

    from sandbox.models import Execution

    execution = make_execution(agent=agent)
    now = timezone.now()
    Execution.objects.filter(id=execution.id).update(
        status=status, artifact=artifact, artifact_submitted_at=now if artifact else None, finished_at=now
    )
    execution.refresh_from_db()
    return execution


def make_user(*, username: str | None = None, staff: bool = False, judge: bool = False, password: str = "test-pw"):  # noqa: S107
    """A Django user; ``judge`` puts it in the judges group (a judge is staff too, to reach the admin)."""
    from django.contrib.auth.models import User

    from attention.services import add_judge

    user = User.objects.create_user(username=username or f"user-{next(_names)}", password=password, is_staff=staff)
    if judge:
        add_judge(user=user)
    return user


def make_review_item(*, agent: Agent | None = None, artifact: str = "an artifact", max_price: int | None = None):
    """A finished execution of ``agent`` (a new one with 1000 credits when None) that won an attention tick of its
    own: the queued ``HumanReward`` item."""
    from attention.models import HumanReward
    from attention.selectors import attention_state
    from attention.services import place_attention_bid, run_attention_tick

    if agent is None:
        agent, _ = make_agent(credits=1000)
    execution = make_finished_execution(agent=agent, artifact=artifact)
    place_attention_bid(agent_id=agent.id, execution_id=execution.id, max_price=max_price or attention_state().price)
    run_attention_tick()
    return HumanReward.objects.select_related("agent", "execution").get(execution_id=execution.id)
