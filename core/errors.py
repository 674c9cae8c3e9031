"""The base of every domain error: a machine-readable ``code``, the HTTP status it maps to and a default detail.

Each app declares one subclass per code in its ``errors`` module (``economy.errors``, ``market.errors`` …), naming
the code and, unless it is 400, the status on the class line::

    class InsufficientFunds(DomainError, code="insufficient_funds", status=409):
        default_detail = "The account does not hold enough credits."

``core.exception_handler`` turns any of them into ``{"code": ..., "detail": ...}``. A code is a class attribute and
never changes after construction; ``DomainError`` itself cannot be raised (it would answer no meaningful code).
"""

from __future__ import annotations


class DomainError(Exception):
    code: str = ""
    status = 400
    default_detail = "The request could not be processed."

    def __init_subclass__(cls, *, code: str | None = None, status: int | None = None, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if code is not None:
            cls.code = code
        if status is not None:
            cls.status = status

    def __init__(self, detail: str | None = None, **extra: object) -> None:
        if not type(self).code:
            raise TypeError(f"{type(self).__name__} has no code: raise a subclass that declares one")
        self.detail = detail or self.default_detail
        self.extra = extra
        super().__init__(self.detail)
