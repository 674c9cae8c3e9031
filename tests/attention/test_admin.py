"""The judges' review queue in the admin: oldest first, the artifact rendered inert, one click to the next item."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from attention.admin import REVIEW_ARTIFACT_CHARS
from attention.models import AttentionState, HumanReward
from economy import selectors as ledger
from tests.factories import make_agent, make_review_item, make_user

pytestmark = pytest.mark.django_db

PAYLOAD = '<script>alert(1)</script><img src=x onerror="alert(2)"><a href="javascript:alert(3)">x</a>'


def review_url(item: HumanReward) -> str:
    return f"/admin/attention/humanreward/review/{item.id}/"


@pytest.fixture
def judge(client):
    user = make_user(judge=True)
    client.force_login(user)
    return user


def test_an_artifact_with_html_and_script_renders_inert(client, judge):
    item = make_review_item(artifact=PAYLOAD)
    page = client.get(review_url(item)).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "<img src=x" not in page
    assert '<a href="javascript:alert(3)">' not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=&quot;alert(2)&quot;&gt;" in page
    assert '<pre class="bp-artifact"' in page
    # the read-only detail page escapes it too
    detail = client.get(f"/admin/attention/humanreward/{item.id}/change/").content.decode()
    assert "<script>alert(1)</script>" not in detail
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in detail


def test_the_review_page_shows_agent_generation_parent_and_price_paid(client, judge):
    parent, _ = make_agent(credits=10, name="eve")
    child, _ = make_agent(credits=1000, name="cain", parent=parent)
    AttentionState.objects.filter(id=1).update(price=13)
    item = make_review_item(agent=child, artifact="line one\nline two", max_price=40)
    page = client.get(review_url(item)).content.decode()
    assert f"cain (#{child.id}" in page
    assert "<th>Generation</th><td>1</td>" in page
    assert f"eve (#{parent.id})" in page
    assert "13 credits" in page
    assert "line one\nline two" in page


def test_a_long_artifact_is_capped_with_a_note(client, judge):
    item = make_review_item(artifact="a" * (REVIEW_ARTIFACT_CHARS + 123))
    page = client.get(review_url(item)).content.decode()
    assert "a" * REVIEW_ARTIFACT_CHARS in page
    assert "a" * (REVIEW_ARTIFACT_CHARS + 1) not in page
    assert "123 more characters not shown" in page


def test_the_queue_is_served_oldest_first_and_scoring_goes_on_to_the_next_item(client, judge):
    first, second = make_review_item(artifact="first"), make_review_item(artifact="second")
    assert client.get("/admin/attention/humanreward/review/")["Location"].endswith(review_url(first))
    page = client.get(review_url(first)).content.decode()
    assert "2 items waiting" in page
    assert review_url(second) in page  # skip link

    response = client.post(review_url(first), {"score": "9", "comment": "fine work"}, follow=True)

    assert response.redirect_chain[-1][0].endswith(review_url(second))
    assert "scored 9: 90 credits minted" in response.content.decode()
    scored = HumanReward.objects.get(id=first.id)
    assert (scored.status, scored.score, scored.comment, scored.judge_id) == ("SCORED", 9, "fine work", judge.id)
    client.post(review_url(second), {"score": "0"})
    empty = client.get("/admin/attention/humanreward/review/")
    assert empty.status_code == 200
    assert "The queue is empty" in empty.content.decode()
    assert ledger.ledger_violations() == []


def test_a_judge_is_not_shown_their_own_agents_and_cannot_score_them_in_the_admin(client, judge):
    mine, _ = make_agent(credits=1000)
    mine.owner = judge
    mine.save(update_fields=["owner"])
    own = make_review_item(agent=mine)
    other = make_review_item()
    assert client.get("/admin/attention/humanreward/review/")["Location"].endswith(review_url(other))
    page = client.get(review_url(own))
    assert "another judge must score it" in page.content.decode()
    refused = client.post(review_url(own), {"score": "10"})
    assert refused.status_code == 403
    assert HumanReward.objects.get(id=own.id).status == "QUEUED"


@pytest.mark.parametrize("score", ["11", "-1", "4.5", "", "ten"])
def test_an_invalid_score_in_the_admin_mints_nothing(client, judge, score):
    item = make_review_item()
    response = client.post(review_url(item), {"score": score})
    assert response.status_code == 400
    assert HumanReward.objects.get(id=item.id).status == "QUEUED"


def test_scoring_an_already_scored_item_in_the_admin_is_refused(client, judge):
    item = make_review_item()
    client.post(review_url(item), {"score": "5"})
    again = client.post(review_url(item), {"score": "7"})
    assert again.status_code == 409
    assert HumanReward.objects.get(id=item.id).score == 5


def test_staff_edit_the_attention_controller_in_the_admin(client):
    operator = make_user(staff=True)
    operator.user_permissions.add(
        *Permission.objects.filter(codename__in=["change_attentionstate", "view_attentionstate"])
    )
    client.force_login(operator)
    form = {"price": "40", "floor": "20", "ceiling": "500", "target_utilization": "0.6", "ema_alpha": "0.5"}
    response = client.post("/admin/attention/attentionstate/1/change/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    state = AttentionState.objects.get(id=1)
    assert (state.price, state.floor, state.ceiling, state.target_utilization, state.ema_alpha) == (
        40, 20, 500, 0.6, 0.5,
    )  # fmt: skip
    bad = client.post("/admin/attention/attentionstate/1/change/", {**form, "price": "10"})
    assert bad.status_code == 200  # the form shows the error: the price is below the floor
    assert AttentionState.objects.get(id=1).price == 40


def test_the_queue_shows_how_many_wait_and_how_many_the_judge_scored_today(client, judge):
    first, second = make_review_item(artifact="first"), make_review_item(artifact="second")
    page = client.get(review_url(first)).content.decode()
    assert "2 items waiting for you · 0 scored by you today" in page
    assert 'id="review-form"' in page and "attention/review.js" in page  # keyboard scoring
    client.post(review_url(first), {"score": "4"})
    assert "1 item waiting for you · 1 scored by you today" in client.get(review_url(second)).content.decode()
    client.post(review_url(second), {"score": "6"})
    assert (
        "0 items waiting for you · 2 scored by you today"
        in client.get("/admin/attention/humanreward/review/").content.decode()
    )


def test_a_judge_lands_on_the_review_queue_after_login_and_sees_it_on_the_admin_home(client):
    make_user(username="judy", judge=True, password="a-judges-password")
    make_review_item()
    response = client.post(
        "/admin/login/?next=/admin/", {"username": "judy", "password": "a-judges-password", "next": "/admin/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/admin/attention/humanreward/review/"
    home = client.get("/admin/").content.decode()
    assert 'id="review-queue-module"' in home and "1 item waiting for you" in home


def test_an_operator_who_asks_for_a_page_gets_it_and_a_superuser_lands_on_the_home(client):
    make_user(username="judy", judge=True, password="a-judges-password")
    asked = client.post(
        "/admin/login/", {"username": "judy", "password": "a-judges-password", "next": "/admin/market/tick/"}
    )
    assert asked["Location"] == "/admin/market/tick/"
    client.logout()
    from django.contrib.auth.models import User

    User.objects.create_superuser("root", password="a-root-password")
    root = client.post("/admin/login/", {"username": "root", "password": "a-root-password", "next": "/admin/"})
    assert root["Location"] == "/admin/"


def test_model_names_read_well_in_the_admin(client, judge):
    html = client.get("/admin/attention/humanreward/").content.decode()
    assert "Review items" in html
    assert "(review item)s" not in html
