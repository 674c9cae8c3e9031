"""The economy's domain errors, one class per code (``core.errors.DomainError`` is the base; ``core.exception_handler``
answers them as ``{"code": ..., "detail": ...}``)."""

from __future__ import annotations

from core.errors import DomainError


class InvalidAmount(DomainError, code="invalid_amount"):
    default_detail = "Amount must be a positive integer within range."


class InsufficientFunds(DomainError, code="insufficient_funds", status=409):
    default_detail = "The account does not hold enough credits."


class UnknownAgent(DomainError, code="unknown_agent", status=404):
    default_detail = "No such agent."


class AgentDead(DomainError, code="agent_dead", status=409):
    default_detail = "The agent is dead."


class SelfTransfer(DomainError, code="self_transfer"):
    default_detail = "An agent cannot transfer to itself."


class Forbidden(DomainError, code="forbidden", status=403):
    default_detail = "You may only act as yourself."


class IdempotencyConflict(DomainError, code="idempotency_conflict", status=409):
    default_detail = "This idempotency key was already used with a different request."


class HoldNotPending(DomainError, code="hold_not_pending", status=409):
    default_detail = "The hold was already settled or released."


class UnknownHold(DomainError, code="unknown_hold", status=404):
    default_detail = "No such hold."


class InvalidMemo(DomainError, code="invalid_memo"):
    default_detail = "A memo is a string within the length limit."


class InvalidName(DomainError, code="invalid_name"):
    default_detail = "Name must be 1 to 100 characters."


class InvalidIdempotencyKey(DomainError, code="invalid_idempotency_key"):
    default_detail = "Idempotency-Key must be 1 to 255 characters."


class UnknownAccount(DomainError, code="unknown_account", status=404):
    default_detail = "No such account."


class TransferNotApplied(DomainError, code="transfer_not_applied", status=409):
    default_detail = "The transfer could not be applied."
