"""Who may do what: agents, judges (session or token), staff who are not judges, and anonymous callers, against
every attention endpoint and the admin review pages."""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token

from attention.models import HumanReward
from economy import selectors as ledger
from tests.factories import auth, make_agent, make_finished_execution, make_review_item, make_user

pytestmark = pytest.mark.django_db

ROLES = ["agent", "judge_session", "judge_token", "judge_not_staff", "staff", "anonymous"]


@pytest.fixture
def world():
    agent, token = make_agent(credits=1000)
    item = make_review_item()  # another agent's execution, queued
    execution = make_finished_execution(agent=agent, artifact="mine")
    return {"agent": agent, "token": token, "item": item, "execution": execution}


def client_as(api, role, world):
    """The API client acting as ``role``; returns the extra request headers."""
    if role == "agent":
        return auth(world["token"])
    if role == "judge_session":
        api.force_login(make_user(judge=True))
    elif role == "judge_token":
        return {"HTTP_AUTHORIZATION": f"Token {Token.objects.create(user=make_user(judge=True)).key}"}
    elif role == "judge_not_staff":
        judge = make_user()
        from attention.services import ensure_judges_group

        judge.groups.add(ensure_judges_group())
        api.force_login(judge)
    elif role == "staff":
        api.force_login(make_user(staff=True))
    return {}


def call(api, endpoint, world, headers):
    if endpoint == "price":
        return api.get("/attention/price", **headers)
    if endpoint == "list_bids":
        return api.get("/attention/bids", **headers)
    if endpoint == "place_bid":
        payload = {"execution_id": world["execution"].id, "max_price": 20}
        return api.post("/attention/bids", payload, format="json", **headers)
    if endpoint == "read_bid":
        return api.get(f"/attention/bids/{world['bid_id']}", **headers)
    if endpoint == "cancel_bid":
        return api.delete(f"/attention/bids/{world['bid_id']}", **headers)
    if endpoint == "queue":
        return api.get("/human/queue", **headers)
    if endpoint == "reward":
        payload = {"execution_id": world["item"].execution_id, "score": 6, "comment": "ok"}
        return api.post("/human/reward", payload, format="json", **headers)
    raise AssertionError(endpoint)


AGENT_ONLY = {
    "agent": (200, None),
    "judge_session": (403, "forbidden"),
    "judge_token": (403, "forbidden"),
    "judge_not_staff": (403, "forbidden"),
    "staff": (403, "forbidden"),
    "anonymous": (401, "not_authenticated"),
}
JUDGES_ONLY = {
    "agent": (403, "not_a_judge"),
    "judge_session": (200, None),
    "judge_token": (200, None),
    "judge_not_staff": (200, None),
    "staff": (403, "not_a_judge"),
    "anonymous": (401, "not_authenticated"),
}
MATRIX = {
    "price": {**AGENT_ONLY, "judge_session": (200, None), "judge_token": (200, None), "staff": (200, None)},
    "list_bids": AGENT_ONLY,
    "place_bid": {**AGENT_ONLY, "agent": (201, None)},
    "read_bid": AGENT_ONLY,
    "cancel_bid": AGENT_ONLY,
    "queue": JUDGES_ONLY,
    "reward": {**JUDGES_ONLY, "judge_session": (201, None), "judge_token": (201, None), "judge_not_staff": (201, None)},
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", list(MATRIX))
def test_the_api_permission_matrix(api, world, endpoint, role):
    from attention.services import place_attention_bid

    if endpoint in {"read_bid", "cancel_bid"}:
        world["bid_id"] = place_attention_bid(
            agent_id=world["agent"].id, execution_id=world["execution"].id, max_price=20
        ).id
    headers = client_as(api, role, world)
    minted_before = ledger.get_balance(agent_id=world["item"].agent_id)

    response = call(api, endpoint, world, headers)

    expected_status, expected_code = MATRIX[endpoint][role]
    assert response.status_code == expected_status, response.content
    if expected_code is not None:
        assert response.json()["code"] == expected_code
    if endpoint == "reward" and expected_status != 201:
        assert HumanReward.objects.get(id=world["item"].id).status == "QUEUED"
        assert ledger.get_balance(agent_id=world["item"].agent_id) == minted_before


def test_an_agent_cannot_read_or_cancel_another_agents_bid(api, world):
    from attention.services import place_attention_bid

    bid = place_attention_bid(agent_id=world["agent"].id, execution_id=world["execution"].id, max_price=20)
    _, other_token = make_agent(credits=10)
    for method in (api.get, api.delete):
        response = method(f"/attention/bids/{bid.id}", **auth(other_token))
        assert (response.status_code, response.json()["code"]) == (404, "unknown_attention_bid")


def test_a_judge_reads_the_queue_through_the_api_without_their_own_agents(api):
    judge = make_user(judge=True)
    mine, _ = make_agent(credits=1000)
    mine.owner = judge
    mine.save(update_fields=["owner"])
    make_review_item(agent=mine)
    other = make_review_item(artifact="<b>hi</b>")
    api.force_login(judge)
    body = api.get("/human/queue").json()
    assert [row["execution_id"] for row in body["results"]] == [other.execution_id]
    row = body["results"][0]
    assert (row["artifact"], row["agent_id"], row["generation"], row["parent_id"]) == (
        "<b>hi</b>", other.agent_id, 0, None,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("payload", "status_code", "code"),
    [
        ({"score": 11}, 400, "invalid_score"),
        ({"score": -1}, 400, "invalid_score"),
        ({"score": 5.5}, 400, "invalid_score"),
        ({"score": "7"}, 400, "invalid_score"),
        ({"score": True}, 400, "invalid_score"),
        ({"execution_id": 10**9}, 404, "not_in_queue"),
        ({"comment": 12}, 400, "invalid_comment"),
    ],
)
def test_a_bad_reward_request_is_refused_with_a_clear_code(api, world, payload, status_code, code):
    api.force_login(make_user(judge=True))
    body = {"execution_id": world["item"].execution_id, "score": 5, "comment": "", **payload}
    response = api.post("/human/reward", body, format="json")
    assert (response.status_code, response.json()["code"]) == (status_code, code)
    assert HumanReward.objects.get(id=world["item"].id).status == "QUEUED"


def test_a_second_reward_and_a_judges_own_agent_are_refused_through_the_api(api, world):
    judge = make_user(judge=True)
    api.force_login(judge)
    body = {"execution_id": world["item"].execution_id, "score": 5}
    first = api.post("/human/reward", body, format="json")
    assert (first.status_code, first.json()["minted"], first.json()["judged_by"]) == (201, 50, judge.username)
    second = api.post("/human/reward", body, format="json")
    assert (second.status_code, second.json()["code"]) == (409, "already_scored")

    own = make_review_item()
    own.agent.owner = judge
    own.agent.save(update_fields=["owner"])
    response = api.post("/human/reward", {"execution_id": own.execution_id, "score": 9}, format="json")
    assert (response.status_code, response.json()["code"]) == (403, "judge_owns_agent")


# --- the admin review pages ----------------------------------------------------------------------------------------

ADMIN_ROLES = {
    "judge": (200, 302),
    "judge_not_staff": (302, 302),
    "staff": (403, 403),
    "anonymous": (302, 302),
    "agent": (302, 302),
}


@pytest.mark.parametrize("role", list(ADMIN_ROLES))
def test_the_admin_review_pages_are_for_judges_only(client, world, role):
    headers = client_as(client, "judge_session" if role == "judge" else role, world)
    item_page = client.get(f"/admin/attention/humanreward/review/{world['item'].id}/", **headers)
    queue = client.get("/admin/attention/humanreward/review/", **headers)
    scored = client.post(f"/admin/attention/humanreward/review/{world['item'].id}/", {"score": "4"}, **headers)

    assert (item_page.status_code, queue.status_code) == ADMIN_ROLES[role]
    if role == "judge":
        assert queue["Location"].endswith(f"/review/{world['item'].id}/")
        assert scored.status_code == 302
        assert HumanReward.objects.get(id=world["item"].id).score == 4
    else:
        assert scored.status_code in {302, 403}
        assert HumanReward.objects.get(id=world["item"].id).status == "QUEUED"
    if ADMIN_ROLES[role][0] == 302:
        assert "/admin/login/" in item_page["Location"]


def test_judges_see_the_review_items_in_the_admin_and_staff_who_are_not_judges_do_not(client):
    client.force_login(make_user(judge=True))
    assert client.get("/admin/attention/humanreward/").status_code == 200
    assert client.get("/admin/attention/attentionstate/").status_code == 403  # minimal permissions
    client.force_login(make_user(staff=True))
    assert client.get("/admin/attention/humanreward/").status_code == 403
