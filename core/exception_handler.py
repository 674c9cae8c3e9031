"""The one DRF exception handler: every error answer is JSON ``{"code": ..., "detail": ...}``.

Domain errors carry their own code and status; DRF's own errors get stable codes; a validation error is named after
the first field that failed (``invalid_amount``, ``invalid_to_id`` …) unless the serializer raised a specific code.
"""

from __future__ import annotations

import sys

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from django.views.defaults import page_not_found
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import DomainError

_DRF_CODES: dict[type[exceptions.APIException], str] = {
    exceptions.ParseError: "malformed_request",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.PermissionDenied: "forbidden",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
}
# DRF's built-in field error codes; anything else was raised on purpose and is passed through as the code.
_GENERIC_FIELD_CODES = {
    "invalid",
    "required",
    "null",
    "blank",
    "max_length",
    "min_length",
    "max_value",
    "min_value",
    "max_string_length",
    "invalid_choice",
    "not_a_list",
    "empty",
    "does_not_exist",
    "incorrect_type",
    "not_a_dict",
    "unique",
    "max_digits",
    "max_decimal_places",
    "max_whole_digits",
    "date",
    "datetime",
    "make_aware",
    "overflow",
}


def _first_error(detail: object, field: str | None = None) -> tuple[str | None, exceptions.ErrorDetail | None]:
    if isinstance(detail, dict):
        for key, value in detail.items():
            found = _first_error(value, key if field is None else field)
            if found[1] is not None:
                return found
    elif isinstance(detail, list):
        for value in detail:
            found = _first_error(value, field)
            if found[1] is not None:
                return found
    elif isinstance(detail, exceptions.ErrorDetail):
        return field, detail
    return field, None


def _validation_body(exc: exceptions.ValidationError) -> dict:
    field, error = _first_error(exc.detail)
    if error is None:
        return {"code": "invalid_request", "detail": "Invalid request.", "errors": exc.detail}
    if error.code and error.code not in _GENERIC_FIELD_CODES:
        code = error.code
    elif field and field != "non_field_errors":
        code = f"invalid_{field}"
    else:
        code = "invalid_request"
    message = f"{field}: {error}" if field and field != "non_field_errors" else str(error)
    return {"code": code, "detail": message, "errors": exc.detail}


# The database could not be reached, or its connection was terminated mid-request: the request did not happen (its
# transaction rolled back), so the client may retry. Agents get a retryable JSON 503, never an HTML 500.
DATABASE_ERRORS = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 1
DATABASE_UNAVAILABLE = {
    "code": "database_unavailable",
    "detail": "The database is unreachable for a moment; retry the request (it was not applied).",
}


def database_unavailable() -> JsonResponse:
    response = JsonResponse(DATABASE_UNAVAILABLE, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, DATABASE_ERRORS):
        _close_broken_connections()
        return Response(
            DATABASE_UNAVAILABLE,
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    if isinstance(exc, DomainError):
        return Response({"code": exc.code, "detail": exc.detail, **exc.extra}, status=exc.status)
    if isinstance(exc, RequestDataTooBig):
        return Response(
            {"code": "payload_too_large", "detail": "The request body is too large."},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = _validation_body(exc)
        return response
    code = next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), None)
    if code is None:
        code = exc.default_code if isinstance(exc, exceptions.APIException) else "error"
    detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
    response.data = {"code": code, "detail": str(detail)}
    return response


def _close_broken_connections() -> None:
    """Drop connections that failed, so the next request on this thread connects afresh."""
    from django.db import connections

    for conn in connections.all(initialized_only=True):
        try:
            if conn.connection is not None and not conn.is_usable():
                conn.close()
        except Exception:  # noqa: S110 - closing a dead connection may raise again; it is gone either way
            pass


def _is_api_path(request) -> bool:
    return not request.path.startswith(("/admin/", "/dashboard/"))


def server_error(request):
    """500 for anything a view or middleware did not handle: JSON everywhere; 503 when the database was the cause."""
    exc = sys.exc_info()[1]
    if isinstance(exc, DATABASE_ERRORS):
        _close_broken_connections()
        return database_unavailable()
    return JsonResponse({"code": "server_error", "detail": "An unexpected error; it was logged."}, status=500)


def bad_request(request, exception=None):
    """400 for requests Django refuses before any view (a disallowed Host, a malformed multipart body …)."""
    return JsonResponse({"code": "bad_request", "detail": "The request is malformed."}, status=400)


def permission_denied(request, exception=None):
    """403 raised outside DRF: JSON for API paths; the admin keeps its HTML page."""
    if not _is_api_path(request):
        from django.views.defaults import permission_denied as html_permission_denied

        return html_permission_denied(request, exception)
    return JsonResponse({"code": "forbidden", "detail": "You may not do this."}, status=403)


def csrf_failure(request, reason=""):
    """A refused CSRF check (session-authenticated writes): JSON like every other error."""
    return JsonResponse({"code": "csrf_failed", "detail": f"CSRF verification failed: {reason}"}, status=403)


def not_found(request, exception=None):
    """404 for paths no view matches: JSON like every other API error; the admin keeps its HTML page."""
    if request.path.startswith(("/admin/", "/dashboard/")):
        return page_not_found(request, exception)
    return JsonResponse({"code": "not_found", "detail": "No such resource."}, status=404)
