"""Every error the service answers is JSON (issue 9, finding 8): a database that is unreachable or whose backends are
terminated gives a retryable JSON 503 (``database_unavailable``, ``Retry-After``), never an HTML 500; Django's own
400/403/404/500 answers are JSON; and so are the errors gunicorn answers itself (oversize headers …)."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest
import requests
from django.db import OperationalError, connection
from django.test import Client

from economy import selectors as economy_selectors
from economy.selectors import ledger_violations
from tests.factories import auth, make_agent, make_user
from tests.http.conftest import Server

pytestmark = pytest.mark.postgres


# --- in process: the handlers --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_lost_database_in_a_drf_view_is_a_json_503(api, monkeypatch):
    agent, token = make_agent(credits=5)

    def unreachable(**kwargs):
        raise OperationalError("consuming input failed: terminating connection due to administrator command")

    monkeypatch.setattr(economy_selectors, "get_balance_and_held", unreachable)
    response = api.get(f"/economic/balance/{agent.id}", **auth(token))
    assert response.status_code == 503
    assert response.json()["code"] == "database_unavailable"
    assert response["Retry-After"] == "1"


@pytest.mark.django_db
def test_a_lost_database_outside_drf_is_a_json_503_and_other_crashes_a_json_500(monkeypatch):
    from evolution import dashboard

    client = Client(raise_request_exception=False)
    client.force_login(make_user(staff=True))

    def unreachable(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(dashboard, "render", unreachable)
    response = client.get("/dashboard/")
    assert (response.status_code, response["Content-Type"]) == (503, "application/json")
    assert response.json()["code"] == "database_unavailable" and response["Retry-After"] == "1"

    def crash(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(dashboard, "render", crash)
    response = client.get("/dashboard/")
    assert (response.status_code, response["Content-Type"]) == (500, "application/json")
    assert response.json()["code"] == "server_error"


@pytest.mark.django_db
def test_djangos_own_400_and_404_are_json():
    client = Client(raise_request_exception=False)
    response = client.get("/market/prices", HTTP_HOST="evil.example")  # DisallowedHost, refused before any view
    assert (response.status_code, response.json()["code"]) == (400, "bad_request")
    response = client.get("/no/such/path")
    assert (response.status_code, response.json()["code"]) == (404, "not_found")


# --- a real gunicorn --------------------------------------------------------------------------------------------


def raw_request(port: int, data: bytes) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(data)
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body


@pytest.mark.usefixtures("postgres_only")
def test_errors_gunicorn_answers_itself_are_json(gunicorn_server: Server):
    cases = {
        431: b"GET /market/prices HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n",
        414: b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        400: b"NONSENSE\r\n\r\n",
    }
    for status, data in cases.items():
        got, headers, body = raw_request(gunicorn_server.port, data)
        assert got == status, body
        assert headers["Content-Type"] == "application/json", (status, headers)
        assert isinstance(json.loads(body)["code"], str)
    # and many headers rather than one long one
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(200))
    got, headers, body = raw_request(gunicorn_server.port, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n" + many + b"\r\n")
    assert got in (400, 431) and json.loads(body)["code"] in ("bad_request", "request_headers_too_large")


def terminate_backends() -> int:
    """Terminate every other backend of this test's own database (never another database's)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


@pytest.mark.usefixtures("postgres_only")
def test_terminated_backends_give_json_503s_never_html_500s(gunicorn_server: Server):
    payers = [make_agent(credits=10_000) for _ in range(6)]
    payee, _ = make_agent()
    answers: list[tuple[int, str, dict | None, str | None]] = []
    stop = threading.Event()

    def client(index: int) -> None:
        agent, token = payers[index]
        session = requests.Session()
        headers = {"Authorization": f"Bearer {token}"}
        n = 0
        while not stop.is_set():
            n += 1
            try:
                if n % 2:
                    r = session.get(f"{gunicorn_server.url}/economic/history/{agent.id}", headers=headers, timeout=10)
                else:
                    r = session.post(
                        f"{gunicorn_server.url}/economic/transfer",
                        json={"from_id": agent.id, "to_id": payee.id, "amount": 1},
                        headers={**headers, "Idempotency-Key": f"{index}-{n}"},
                        timeout=10,
                    )
            except requests.RequestException:
                continue
            try:
                body = r.json()
            except ValueError:
                body = None
            answers.append((r.status_code, r.headers.get("Content-Type", ""), body, r.headers.get("Retry-After")))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(payers))]
    for t in threads:
        t.start()
    terminated = 0
    deadline = time.monotonic() + 20
    try:
        while time.monotonic() < deadline:
            terminated += terminate_backends()
            time.sleep(0.02)
            if sum(1 for a in answers if a[0] == 503) >= 5 and time.monotonic() > deadline - 15:
                break
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    server_errors = [a for a in answers if a[0] >= 500]
    assert answers and terminated, (len(answers), terminated)
    assert all(a[2] is not None and isinstance(a[2].get("code", ""), str) for a in answers), [
        a for a in answers if a[2] is None
    ][:3]
    assert [a for a in server_errors if a[0] != 503 or a[2]["code"] != "database_unavailable" or a[3] != "1"] == []
    assert server_errors, f"no request met a terminated backend in {len(answers)} requests ({terminated} terminated)"
    print(f"{len(answers)} answers, {len(server_errors)} JSON 503s, {terminated} backends terminated")
    # the service recovers at once, and the ledger is sound
    agent, token = payers[0]
    r = requests.get(
        f"{gunicorn_server.url}/economic/balance/{agent.id}", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert r.status_code == 200
    assert ledger_violations() == []
