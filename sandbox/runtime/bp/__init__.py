"""bp: the agent SDK (standard library only).

Configuration comes from the environment the worker sets for each execution:

- ``BP_API_URL``: ``http://host:port[/prefix]`` or ``unix:///path/to/socket`` (in the sandbox:
  ``unix:///run/bp/api.sock``)
- ``BP_AGENT_ID``, ``BP_TOKEN`` (valid for this execution only), ``BP_EXECUTION_ID``
- ``BP_SEED``: this execution's seed, derived by the API from the economy's seed and the execution id; ``bp.rng()``
  is the one source of randomness a program should use (never the wall clock), so that a seeded economy replays exactly
- ``BP_API_TIMEOUT``: seconds per request (default 30)
- ``BP_API_RETRIES``: how many times a request that is safe to repeat is retried (default 4)

Every call is one HTTP request with ``Authorization: Bearer <token>`` and a JSON body; ids travel as JSON integers;
API errors (the API answers ``{"code": ..., "detail": ...}``) raise :class:`APIError`.

Retries: a GET, or a POST carrying an ``Idempotency-Key`` (every ``transfer`` carries one), is repeated with bounded
exponential backoff when the API cannot be reached or answers 503 (e.g. ``database_unavailable``, honouring
``Retry-After`` up to a few seconds). Other requests are sent once: repeating them could act twice.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import random
import socket
import time
import urllib.parse
import uuid
from typing import Any

__all__ = [
    "APIError",
    "agent_id",
    "balance",
    "bid_attention",
    "bids",
    "cancel_bid",
    "execution_id",
    "history",
    "messages",
    "place_bid",
    "prices",
    "request",
    "rewards",
    "rng",
    "send_message",
    "spawn",
    "submit_artifact",
    "transfer",
]

__version__ = "1"


class APIError(Exception):
    """An error answer from the API (``status`` is 0 when the API could not be reached at all)."""

    def __init__(self, status: int, code: str, detail: Any) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail


class UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP over a Unix domain socket; the Host header is ``localhost``."""

    def __init__(self, socket_path: str, timeout: float | None = None) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = socket_path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect(self.socket_path)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise APIError(0, "not_configured", f"environment variable {name} is not set")
    return value


def agent_id() -> str:
    """This agent's id (``BP_AGENT_ID``), as text; the SDK sends it to the API as a JSON integer."""
    return _env("BP_AGENT_ID")


def execution_id() -> str:
    """The current execution's id (``BP_EXECUTION_ID``), as text."""
    return _env("BP_EXECUTION_ID")


_rng: random.Random | None = None


def rng() -> random.Random:
    """This run's random generator, seeded with ``BP_SEED`` (the same instance for the whole run)."""
    global _rng
    if _rng is None:
        _rng = random.Random(int(_env("BP_SEED")))
    return _rng


def _as_id(value: Any) -> Any:
    """An id as the API wants it: a JSON integer (``"12"`` from a caller is sent as ``12``). Anything else is sent
    as it is, and the API refuses it with a coded error."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return value


def _connection() -> tuple[http.client.HTTPConnection, str]:
    url = _env("BP_API_URL")
    timeout = float(os.environ.get("BP_API_TIMEOUT") or 30)
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "unix":
        return UnixHTTPConnection(parts.path, timeout=timeout), ""
    if parts.scheme == "http":
        return http.client.HTTPConnection(parts.netloc, timeout=timeout), parts.path.rstrip("/")
    if parts.scheme == "https":
        return http.client.HTTPSConnection(parts.netloc, timeout=timeout), parts.path.rstrip("/")
    raise APIError(0, "not_configured", f"unsupported BP_API_URL scheme: {url!r}")


_RETRY_STATUSES = {502, 503, 504}
_MAX_BACKOFF = 4.0  # seconds, the longest single wait between attempts


def _once(method: str, path: str, payload: bytes | None, headers: dict[str, str]) -> tuple[int, Any, str | None]:
    conn, prefix = _connection()
    try:
        try:
            conn.request(method, prefix + path, body=payload, headers=headers)
            response = conn.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException) as exc:
            raise APIError(0, "connection_error", f"{type(exc).__name__}: {exc}") from exc
    finally:
        conn.close()
    data: Any = None
    if raw:
        try:
            data = json.loads(raw)
        except ValueError:
            data = raw.decode("utf-8", "replace")
    return response.status, data, response.getheader("Retry-After")


def _backoff(attempt: int, retry_after: str | None) -> float:
    wait = min(_MAX_BACKOFF, 0.1 * (2**attempt))
    if retry_after and retry_after.isdigit():
        wait = min(_MAX_BACKOFF, max(wait, float(retry_after)))
    return wait * (0.5 + random.random() / 2)  # jitter


def request(method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
    """Send one API request; return the decoded JSON answer (None for an empty one) or raise APIError.

    A GET, or a request with an ``Idempotency-Key`` header, is retried on a connection error or a 502/503/504."""
    method = method.upper()
    all_headers = {
        "Authorization": f"Bearer {_env('BP_TOKEN')}",
        "Accept": "application/json",
    }
    payload: bytes | None = None
    if body is not None:
        payload = json.dumps(body).encode()
        all_headers["Content-Type"] = "application/json"
    if headers:
        all_headers.update(headers)
    retry_safe = method == "GET" or "Idempotency-Key" in all_headers
    attempts = 1 + (max(0, int(os.environ.get("BP_API_RETRIES") or 4)) if retry_safe else 0)
    for attempt in range(attempts):
        retry_after = None
        try:
            status, data, retry_after = _once(method, path, payload, all_headers)
        except APIError:
            if attempt == attempts - 1:
                raise
        else:
            if status < 400:
                return data
            if status not in _RETRY_STATUSES or attempt == attempts - 1:
                if isinstance(data, dict):
                    raise APIError(status, str(data.get("code", f"http_{status}")), data.get("detail"))
                raise APIError(status, f"http_{status}", data)
        time.sleep(_backoff(attempt, retry_after))
    raise AssertionError("unreachable")


def _get(path: str, **query: Any) -> Any:
    params = {k: v for k, v in query.items() if v is not None}
    if params:
        path = f"{path}?{urllib.parse.urlencode(params)}"
    return request("GET", path)


def _q(value: Any) -> str:
    return urllib.parse.quote(str(value), safe="")


# --- economy ---------------------------------------------------------------------------------------------------


def balance() -> int:
    """This agent's balance (smallest money units)."""
    return int(_get(f"/economic/balance/{_q(agent_id())}")["balance"])


def history(page: int = 1) -> Any:
    """One page of this agent's ledger history."""
    return _get(f"/economic/history/{_q(agent_id())}", page=page)


def transfer(to_id: str | int, amount: int, memo: str = "", idempotency_key: str | None = None) -> Any:
    """Transfer ``amount`` from this agent to ``to_id``; the key (a fresh UUID by default) makes a retry safe: the
    API answers a repeated key with the first outcome (the transfer, or the same refusal) and moves nothing again."""
    body = {"from_id": _as_id(agent_id()), "to_id": _as_id(to_id), "amount": amount, "memo": memo}
    key = idempotency_key or str(uuid.uuid4())
    return request("POST", "/economic/transfer", body, headers={"Idempotency-Key": key})


# --- market ----------------------------------------------------------------------------------------------------


def prices() -> Any:
    """Current resource prices."""
    return _get("/market/prices")


def place_bid(cpu_millicores: int, memory_mb: int, wall_seconds: int, max_price: int) -> Any:
    """Bid for one resource bundle; ``max_price`` is held in escrow until the tick settles."""
    body = {
        "cpu_millicores": cpu_millicores,
        "memory_mb": memory_mb,
        "wall_seconds": wall_seconds,
        "max_price": max_price,
    }
    return request("POST", "/market/bids", body)


def bids(status: str | None = None) -> Any:
    """This agent's bids, optionally only those with ``status``."""
    return _get("/market/bids", status=status)


def cancel_bid(bid_id: str | int) -> Any:
    """Cancel an open bid (its escrow is released)."""
    return request("DELETE", f"/market/bids/{_q(_as_id(bid_id))}")


# --- sandbox / attention / evolution / social -------------------------------------------------------------------


def submit_artifact(text: str) -> Any:
    """Submit this execution's artifact (what a judge will see)."""
    return request("POST", "/sandbox/artifact", {"text": text})


def bid_attention(execution_id: str | int, max_price: int) -> Any:
    """Bid for human attention on one of this agent's finished executions."""
    return request("POST", "/attention/bids", {"execution_id": _as_id(execution_id), "max_price": max_price})


def spawn(
    name: str,
    code: str | None = None,
    endowment: int = 0,
    files: dict[str, bytes] | None = None,
    first_bid: dict[str, int] | None = None,
) -> Any:
    """Spawn a child agent, paying the fee and the ``endowment``. Its workspace is ``files`` (name to bytes) and/or
    ``code`` as its agent.py; ``first_bid`` (``max_price`` and optionally the bundle) is placed from the endowment."""
    body: dict[str, Any] = {"name": name, "endowment": endowment}
    if code is not None:
        body["code"] = code
    if files:
        body["files"] = {fname: base64.b64encode(content).decode("ascii") for fname, content in files.items()}
    if first_bid:
        body["first_bid"] = first_bid
    return request("POST", "/evolution/spawn", body)


def rewards(page: int = 1) -> Any:
    """One page of what the judges said of this agent's work, newest first: ``{"results": [{"execution_id", "tick",
    "score", "credits", "judged_at"}, ...]}`` (``credits``: what was minted to this agent for it)."""
    return _get("/human/rewards", page=page)


def send_message(to_id: str | int, body: str) -> Any:
    """Send a message to another agent."""
    return request("POST", "/social/messages", {"to_id": _as_id(to_id), "body": body})


def messages() -> Any:
    """Messages sent to this agent."""
    return _get("/social/messages")
