"""Reads of the sandbox used by more than one caller."""

from __future__ import annotations

from django.db.models import QuerySet

from sandbox import errors
from sandbox.models import Execution


def agent_executions(*, agent_id: int) -> QuerySet[Execution]:
    return Execution.objects.filter(agent_id=agent_id).order_by("-id")


def agent_execution(*, agent_id: int, execution_id: int) -> Execution:
    execution = agent_executions(agent_id=agent_id).filter(id=execution_id).first()
    if execution is None:
        raise errors.UnknownExecution(f"No execution {execution_id} of yours.")
    return execution
