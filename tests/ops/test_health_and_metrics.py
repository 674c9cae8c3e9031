"""``/healthz`` (database, Redis, age of the last market tick) and ``/metrics`` (Prometheus text, restricted)."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from market import services as market
from market.models import Tick
from sandbox.models import Execution
from tests.factories import auth, make_agent, make_execution

pytestmark = [pytest.mark.django_db, pytest.mark.redis]


def test_healthy_after_a_recent_tick(client):
    market.run_market_tick()
    answer = client.get("/healthz")
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] and body["checks"]["redis"]["ok"]
    assert body["checks"]["market_tick"]["tick"] == Tick.objects.get().number


def test_unhealthy_before_the_first_tick_and_when_ticks_stop(client, settings):
    answer = client.get("/healthz")
    assert answer.status_code == 503
    assert answer.json()["code"] == "unhealthy" and "market_tick" in answer.json()["detail"]
    market.run_market_tick()
    Tick.objects.update(finished_at=timezone.now() - timedelta(seconds=settings.HEALTH_MAX_TICK_AGE_SECONDS + 5))
    stale = client.get("/healthz")
    assert stale.status_code == 503
    assert stale.json()["checks"]["market_tick"]["age_seconds"] > settings.HEALTH_MAX_TICK_AGE_SECONDS


def test_unhealthy_when_redis_does_not_answer(client, settings):
    market.run_market_tick()
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{port}/0"
    answer = client.get("/healthz")
    assert answer.status_code == 503
    body = answer.json()
    assert body["checks"]["redis"]["ok"] is False and body["checks"]["database"]["ok"] is True


def test_healthz_refuses_other_methods_with_json(client):
    answer = client.post("/healthz")
    assert answer.status_code == 405 and answer.json()["code"] == "method_not_allowed"


def test_metrics_export_the_economy_and_http_latency(client):
    agent, token = make_agent(credits=1000)
    execution = make_execution(agent=agent)
    Execution.objects.filter(id=execution.id).update(status="LOST", finished_at=timezone.now(), refunded=7)
    assert client.get(f"/economic/balance/{agent.id}", **auth(token)).status_code == 200  # one request to time
    text = client.get("/metrics").content.decode()  # the test client comes from 127.0.0.1
    lines = set(text.splitlines())
    assert f"bp_market_tick_number {float(Tick.objects.get().number)}" in lines
    assert 'bp_executions{status="LOST"} 1.0' in lines
    assert 'bp_executions{status="SUCCEEDED"} 0.0' in lines
    assert "bp_executions_lost 1.0" in lines
    assert "bp_credits_refunded 7.0" in lines
    assert "bp_credits_minted 1000.0" in lines
    assert any(line.startswith("bp_credits_burned ") for line in lines)
    assert any(line.startswith('bp_queue_depth{queue="sandbox"}') for line in lines)
    assert any(line.startswith("bp_market_tick_lag_seconds ") for line in lines)
    assert any(
        line.startswith("bp_http_request_duration_seconds_count") and 'route="economic/balance/<id:agent_id>"' in line
        for line in lines
    ), text[:3000]


def test_metrics_are_for_loopback_staff_or_the_token(client, settings):
    remote = {"REMOTE_ADDR": "203.0.113.9"}
    refused = client.get("/metrics", **remote)
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    settings.METRICS_TOKEN = "scrape-secret"
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong", **remote).status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret", **remote).status_code == 200
    client.force_login(User.objects.create_user("op", password="pw-long-enough", is_staff=True))
    assert client.get("/metrics", **remote).status_code == 200
