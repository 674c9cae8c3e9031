"""Domain errors. Each carries a machine-readable ``code`` and the HTTP status it maps to.

Other apps subclass ``DomainError`` for their own errors; ``economy.api_errors`` maps all of them to
``{"code": ..., "detail": ...}`` responses in one place.
"""

from __future__ import annotations


class DomainError(Exception):
    code = "error"
    status = 400
    default_detail = "The request could not be processed."

    def __init__(self, detail: str | None = None, **extra: object) -> None:
        self.detail = detail or self.default_detail
        self.extra = extra
        super().__init__(self.detail)


class InvalidAmount(DomainError):
    code = "invalid_amount"
    default_detail = "Amount must be a positive integer within range."


class InsufficientFunds(DomainError):
    code = "insufficient_funds"
    status = 409
    default_detail = "The account does not hold enough credits."


class UnknownAgent(DomainError):
    code = "unknown_agent"
    status = 404
    default_detail = "No such agent."


class AgentDead(DomainError):
    code = "agent_dead"
    status = 409
    default_detail = "The agent is dead."


class SelfTransfer(DomainError):
    code = "self_transfer"
    default_detail = "An agent cannot transfer to itself."


class Forbidden(DomainError):
    code = "forbidden"
    status = 403
    default_detail = "You may only act as yourself."


class IdempotencyConflict(DomainError):
    code = "idempotency_conflict"
    status = 409
    default_detail = "This idempotency key was already used with a different request."


class HoldNotPending(DomainError):
    code = "hold_not_pending"
    status = 409
    default_detail = "The hold was already settled or released."


class UnknownHold(DomainError):
    code = "unknown_hold"
    status = 404
    default_detail = "No such hold."
