"""Gunicorn workers whose own error answers are JSON like the application's.

Gunicorn answers some requests itself, before Django sees them: oversize headers (431), an overlong request line
(414), malformed requests (400), and an exception that escaped the application (500). Its ``handle_error`` decides the
status, logs, and writes a small HTML page with ``gunicorn.util.write_error``. These workers keep gunicorn's decision
and logging (``super().handle_error``) but hand it a stand-in socket that captures the HTML answer; the status line is
read back from it and the client gets ``{"code", "detail"}`` with the same status. No gunicorn internals are patched.
"""

from __future__ import annotations

import json
import re
import socket
from typing import Any

from gunicorn import util
from gunicorn.workers.gthread import ThreadWorker
from gunicorn.workers.sync import SyncWorker

_STATUS_LINE = re.compile(rb"^HTTP/1\.[01] (\d{3}) ([^\r\n]*)\r\n")
_CODES = {
    400: "bad_request",
    403: "forbidden",
    414: "request_line_too_long",
    417: "expectation_failed",
    431: "request_headers_too_large",
    500: "server_error",
    501: "not_implemented",
}


class _CapturedAnswer:
    """Enough of a socket for ``gunicorn.util.write_error``: it records what would have been sent."""

    def __init__(self) -> None:
        self.data = b""

    def gettimeout(self) -> float | None:
        return None

    def setblocking(self, flag: bool) -> None:
        pass

    def sendall(self, data: bytes) -> None:
        self.data += data

    def send(self, data: bytes) -> int:
        self.data += data
        return len(data)


def json_error(status: int, reason: str) -> bytes:
    """The raw HTTP answer gunicorn sends in place of its HTML error page."""
    body = json.dumps(
        {"code": _CODES.get(status, f"http_{status}"), "detail": reason or "The request could not be processed."}
    ).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


class _JsonErrors:
    def handle_error(self, req: Any, client: socket.socket, addr: Any, exc: BaseException) -> None:
        captured = _CapturedAnswer()
        super().handle_error(req, captured, addr, exc)  # type: ignore[misc] - gunicorn decides the status and logs
        match = _STATUS_LINE.match(captured.data)
        status, reason = (int(match.group(1)), match.group(2).decode("latin-1")) if match else (500, "Server Error")
        try:
            util.write_nonblock(client, json_error(status, reason))
        except Exception:  # noqa: S110 - the client may be gone; gunicorn's own writer ignores this too
            pass


class JsonSyncWorker(_JsonErrors, SyncWorker):
    """gunicorn's ``sync`` worker with JSON error answers."""


class JsonThreadWorker(_JsonErrors, ThreadWorker):
    """gunicorn's ``gthread`` worker with JSON error answers."""
