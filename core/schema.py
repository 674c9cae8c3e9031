"""OpenAPI schema post-processing: every operation documents the error answers it can give.

Every error the service answers is ``{"code": ..., "detail": ...}`` (``core.exception_handler``). Any operation can
be refused for authentication (401), permission (403), a missing object or path (404), a bad body or parameter (400),
a conflict with the ledger's or market's state (409), a body over the request limit (413), an unsupported media type
(415) or Accept header (406), a request line or headers too large for the web server (414, 431), throttling (429), a
method the path does not serve (405), and an unreachable database (503, ``database_unavailable``, with
``Retry-After``). The hook adds these to every operation of the schema (an
operation's own declaration of a status wins), so clients and the schemathesis fuzz in CI can rely on them.
"""

from __future__ import annotations

ERROR_COMPONENT = "Error"
ERROR_SCHEMA = {
    "type": "object",
    "description": "Every error answer. `code` is machine-readable and stable; validation errors add `errors` "
    "(the serializer's messages by field), some codes add context fields (e.g. `max_chars`).",
    "properties": {
        "code": {"type": "string", "example": "insufficient_funds"},
        "detail": {"type": "string"},
    },
    "required": ["code", "detail"],
    "additionalProperties": True,
}
ERROR_STATUSES = {
    "400": "Invalid request (`invalid_<field>`, `malformed_request`, …).",
    "401": "Missing or invalid credentials (`not_authenticated`, `authentication_failed`).",
    "403": "Not allowed for this caller (`forbidden`).",
    "404": "No such object or path (`not_found`, `unknown_agent`, …).",
    "405": "Method not allowed on this path (`method_not_allowed`).",
    "406": "The Accept header asks for something other than JSON (`not_acceptable`).",
    "409": "Refused by the current state (`insufficient_funds`, `agent_dead`, `idempotency_conflict`, …).",
    "413": "The request body is over the limit (`payload_too_large`).",
    "414": "The request line (path and query) is too long (`request_line_too_long`, answered by gunicorn).",
    "415": "The body is not JSON (`unsupported_media_type`).",
    "429": "Too many requests (`throttled`).",
    "431": "The request headers are too large (`request_headers_too_large`, answered by gunicorn).",
    "503": "The database is unreachable for a moment (`database_unavailable`); retry after `Retry-After` seconds.",
}
RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait before retrying."}}


def add_error_responses(result: dict, generator, request, public) -> dict:
    """drf-spectacular postprocessing hook (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"])."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components.setdefault(ERROR_COMPONENT, ERROR_SCHEMA)
    ref = {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            for status, description in ERROR_STATUSES.items():
                if status in responses:
                    continue
                answer = {"description": description, "content": {"application/json": {"schema": ref}}}
                if status in ("503", "429"):
                    answer["headers"] = RETRY_AFTER
                responses[status] = answer
    return result
