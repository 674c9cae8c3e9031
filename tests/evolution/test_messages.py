"""Messages between agents: delivered, capped, refused to the dead, published on Redis."""

from __future__ import annotations

import json

import pytest
import redis
from django.conf import settings

from economy.models import Agent
from evolution import services
from evolution.models import Message
from market.services import run_market_tick
from tests.factories import auth, make_agent

pytestmark = pytest.mark.django_db


def test_a_message_is_delivered_to_the_inbox(api):
    alice, alice_token = make_agent()
    bob, bob_token = make_agent()
    response = api.post("/social/messages", {"to_id": bob.id, "body": "hello"}, format="json", **auth(alice_token))
    assert response.status_code == 201, response.content
    assert (response.json()["from_id"], response.json()["to_id"]) == (alice.id, bob.id)
    # Delivered at the next tick boundary: what an agent reads never depends on who ran first within a tick.
    assert api.get("/social/messages", **auth(bob_token)).json()["count"] == 0
    run_market_tick()
    inbox = api.get("/social/messages", **auth(bob_token)).json()
    assert [m["body"] for m in inbox["results"]] == ["hello"]
    assert api.get("/social/messages", **auth(alice_token)).json()["count"] == 0


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"body": ""}, 400, "invalid_body"),
        ({"body": "x" * 2001}, 400, "invalid_body"),
        ({"body": 5}, 400, "invalid_body"),
        ({"to_id": 424242}, 404, "unknown_agent"),
        ({"to_id": "x"}, 400, "invalid_to_id"),
    ],
)
def test_bad_messages_are_refused(api, body, status, code):
    _, token = make_agent()
    bob, _ = make_agent()
    response = api.post("/social/messages", {"to_id": bob.id, "body": "hi", **body}, format="json", **auth(token))
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert Message.objects.count() == 0


def test_dead_recipients_are_refused(api):
    _, token = make_agent()
    bob, _ = make_agent()
    Agent.objects.filter(id=bob.id).update(status=Agent.Status.DEAD)
    response = api.post("/social/messages", {"to_id": bob.id, "body": "hi"}, format="json", **auth(token))
    assert (response.status_code, response.json()["code"]) == (409, "agent_dead")


@pytest.mark.redis
def test_new_messages_are_published_on_redis(django_capture_on_commit_callbacks):
    alice, _ = make_agent()
    bob, _ = make_agent()
    client = redis.Redis.from_url(settings.BP_REDIS_URL)
    pubsub = client.pubsub()
    pubsub.subscribe(services.message_channel(bob.id))
    assert pubsub.get_message(timeout=2)["type"] == "subscribe"
    with django_capture_on_commit_callbacks(execute=True):
        services.send_message(sender_id=alice.id, to_id=bob.id, body="live")
    published = pubsub.get_message(timeout=2)
    pubsub.close()
    assert published is not None
    assert json.loads(published["data"])["body"] == "live"
