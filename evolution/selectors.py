"""Reads of the living economy: agents, lineage, inbox, statistics."""

from __future__ import annotations

from django.db.models import QuerySet

from economy import errors as ledger_errors
from economy.models import Agent
from evolution.models import Message, PopulationStats
from market import selectors as market_selectors

LINEAGE_LIMIT = 1000


def agent_detail(*, agent_id: int) -> Agent:
    agent = Agent.objects.select_related("account").filter(id=agent_id).first()
    if agent is None:
        raise ledger_errors.UnknownAgent(f"No agent with id {agent_id}.")
    return agent


def ancestors(*, agent: Agent) -> list[Agent]:
    """Parent, grandparent, … up to the genesis agent (nearest first)."""
    chain: list[Agent] = []
    current = agent
    while current.parent_id is not None and len(chain) < LINEAGE_LIMIT:
        current = Agent.objects.select_related("account").get(id=current.parent_id)
        chain.append(current)
    return chain


def descendants(*, agent: Agent) -> list[Agent]:
    """Children, grandchildren, … one query per generation (at most LINEAGE_LIMIT agents)."""
    found: list[Agent] = []
    frontier = [agent.id]
    while frontier and len(found) < LINEAGE_LIMIT:
        level = list(
            Agent.objects.select_related("account")
            .filter(parent_id__in=frontier)
            .order_by("id")[: LINEAGE_LIMIT - len(found)]
        )
        found.extend(level)
        frontier = [child.id for child in level]
    return found


def inbox(*, agent_id: int) -> QuerySet[Message]:
    """Messages delivered to the agent, newest first: those sent before the open market tick began (messages are
    delivered at tick boundaries)."""
    return Message.objects.filter(recipient_id=agent_id, tick__lt=market_selectors.open_tick()).order_by("-id")


def population_stats() -> QuerySet[PopulationStats]:
    return PopulationStats.objects.order_by("-tick")
