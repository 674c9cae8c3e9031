"""Middleware that keeps every error JSON."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from core.exception_handler import DATABASE_ERRORS, _close_broken_connections, database_unavailable


class DatabaseUnavailableMiddleware:
    """A view outside DRF (admin, dashboard, schema) that loses the database answers a retryable JSON 503
    (``database_unavailable`` with ``Retry-After``) instead of an HTML 500. DRF views get the same answer from
    ``core.exception_handler``; an error raised by other middleware reaches ``core.exception_handler.server_error``,
    which answers the same."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, DATABASE_ERRORS):
            _close_broken_connections()
            return database_unavailable()
        return None
