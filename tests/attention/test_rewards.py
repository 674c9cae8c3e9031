"""Scores mint credits exactly once per queued item, only from judges or the scripted judge."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Sum

from attention import errors, services
from attention.models import HumanReward
from economy import selectors as ledger
from economy.models import Agent, Transfer
from tests.factories import make_agent, make_finished_execution, make_review_item, make_user

pytestmark = pytest.mark.django_db


def rewards_total() -> int:
    return Transfer.objects.filter(kind=Transfer.Kind.REWARD).aggregate(total=Sum("amount"))["total"] or 0


def test_a_judges_score_mints_score_times_the_reward_per_point_to_the_agent():
    item = make_review_item()
    judge = make_user(username="ada", judge=True)
    before = ledger.get_balance(agent_id=item.agent_id)

    scored = services.judge_execution(judge=judge, execution_id=item.execution_id, score=7, comment="lovely")

    assert (scored.status, scored.score, scored.comment, scored.minted, scored.judge_id) == (
        "SCORED", 7, "lovely", 70, judge.id,
    )  # fmt: skip
    assert ledger.get_balance(agent_id=item.agent_id) == before + 70
    reward = Transfer.objects.get(kind=Transfer.Kind.REWARD)
    assert (reward.amount, reward.debit.system, reward.credit.agent_id) == (70, "mint", item.agent_id)
    assert f"execution {item.execution_id}" in reward.memo
    assert "ada" in reward.memo
    assert scored.transfer_id == reward.id
    assert ledger.ledger_violations() == []


def test_a_score_of_zero_closes_the_item_and_mints_nothing():
    item = make_review_item()
    scored = services.judge_execution(judge=make_user(judge=True), execution_id=item.execution_id, score=0)
    assert (scored.status, scored.score, scored.minted, scored.transfer_id) == ("SCORED", 0, 0, None)
    assert rewards_total() == 0


def test_a_second_score_is_refused_and_mints_nothing():
    item = make_review_item()
    first, second = make_user(judge=True), make_user(judge=True)
    services.judge_execution(judge=first, execution_id=item.execution_id, score=5)
    with pytest.raises(errors.AlreadyScored):
        services.judge_execution(judge=second, execution_id=item.execution_id, score=9)
    with pytest.raises(errors.AlreadyScored):
        services.judge_execution(judge=first, execution_id=item.execution_id, score=5)
    assert rewards_total() == 50
    assert HumanReward.objects.get().score == 5


def test_a_score_for_an_execution_not_in_the_queue_is_refused():
    agent, _ = make_agent(credits=1000)
    never_won = make_finished_execution(agent=agent)
    with pytest.raises(errors.NotInQueue):
        services.judge_execution(judge=make_user(judge=True), execution_id=never_won.id, score=5)
    with pytest.raises(errors.NotInQueue):
        services.judge_execution(judge=make_user(judge=True), execution_id=10**9, score=5)
    assert rewards_total() == 0


def test_only_members_of_the_judges_group_may_score():
    item = make_review_item()
    for user in (make_user(), make_user(staff=True), make_user(staff=True, username="root")):
        with pytest.raises(errors.NotAJudge):
            services.judge_execution(judge=user, execution_id=item.execution_id, score=5)
    superuser = make_user()
    superuser.is_superuser = True
    superuser.save()
    with pytest.raises(errors.NotAJudge):
        services.judge_execution(judge=superuser, execution_id=item.execution_id, score=5)
    inactive = make_user(judge=True)
    inactive.is_active = False
    inactive.save()
    with pytest.raises(errors.NotAJudge):
        services.judge_execution(judge=inactive, execution_id=item.execution_id, score=5)
    with pytest.raises(errors.NotAJudge):
        services.judge_execution(judge=item.agent, execution_id=item.execution_id, score=5)
    assert HumanReward.objects.get().status == "QUEUED"
    assert rewards_total() == 0


def test_a_judge_may_not_score_an_agent_they_own():
    judge = make_user(judge=True)
    agent, _ = make_agent(credits=1000)
    Agent.objects.filter(id=agent.id).update(owner=judge)
    item = make_review_item(agent=agent)
    with pytest.raises(errors.JudgeOwnsAgent):
        services.judge_execution(judge=judge, execution_id=item.execution_id, score=10)
    assert rewards_total() == 0
    services.judge_execution(judge=make_user(judge=True), execution_id=item.execution_id, score=10)
    assert rewards_total() == 100


@pytest.mark.parametrize("score", [-1, 11, 5.0, 5.5, "5", True, None])
def test_a_score_outside_0_to_10_or_not_an_integer_is_refused(score):
    item = make_review_item()
    with pytest.raises(errors.InvalidScore):
        services.judge_execution(judge=make_user(judge=True), execution_id=item.execution_id, score=score)
    assert HumanReward.objects.get().status == "QUEUED"


def test_a_score_for_an_agent_that_died_closes_the_item_without_minting():
    item = make_review_item()
    Agent.objects.filter(id=item.agent_id).update(status=Agent.Status.DEAD)
    scored = services.judge_execution(judge=make_user(judge=True), execution_id=item.execution_id, score=8)
    assert (scored.status, scored.score, scored.minted) == ("SCORED", 8, 0)
    assert "died" in scored.note
    assert rewards_total() == 0
    assert ledger.ledger_violations() == []


# --- the scripted judge -------------------------------------------------------------------------------------------


def test_without_a_scripted_judge_the_queue_waits_for_humans():
    make_review_item()
    assert services.run_scripted_judge() == []
    assert HumanReward.objects.get().status == "QUEUED"


def test_the_scripted_judge_scores_queued_items_and_the_minted_total_matches(settings):
    settings.ATTENTION_JUDGE = "attention.judges:length_judge"
    artifacts = ["one two three", " ".join(f"w{n}" for n in range(45)), " ".join(f"w{n}" for n in range(500))]
    items = [make_review_item(artifact=text) for text in artifacts]
    balances = {i.agent_id: ledger.get_balance(agent_id=i.agent_id) for i in items}

    scored = services.run_scripted_judge()

    assert sorted(scored) == sorted(i.id for i in items)
    outcome = dict(HumanReward.objects.values_list("execution_id", "score"))
    assert [outcome[i.execution_id] for i in items] == [0, 4, 10]
    assert rewards_total() == (0 + 4 + 10) * settings.REWARD_PER_POINT
    for item in items:
        item.refresh_from_db()
        assert ledger.get_balance(agent_id=item.agent_id) == balances[item.agent_id] + item.minted
        assert item.judged_by == "function:attention.judges:length_judge"
        assert item.judge_id is None
    assert services.run_scripted_judge() == []  # nothing twice
    assert ledger.ledger_violations() == []


def test_the_target_phrase_judge_rewards_closeness_to_the_target(settings):
    from attention.judges import target_judge

    settings.ATTENTION_JUDGE_TARGET = "Hello, World"
    assert target_judge("hello,   world") == 10
    assert 0 < target_judge("hello there") < 10
    assert target_judge("zzzz") == 0
    assert target_judge("x" * 100_000) == 0
    settings.ATTENTION_JUDGE_TARGET = ""
    assert target_judge("hello, world") == 0


def test_a_scorer_that_fails_or_answers_out_of_range_leaves_the_item_queued(settings, monkeypatch):
    import attention.judges

    answers = iter([ValueError("boom"), 11, 3])

    def flaky(artifact):
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    monkeypatch.setattr(attention.judges, "flaky", flaky, raising=False)
    settings.ATTENTION_JUDGE = "attention.judges:flaky"
    items = [make_review_item() for _ in range(3)]
    services.run_scripted_judge()
    statuses = [HumanReward.objects.get(id=i.id).status for i in items]
    assert statuses == ["QUEUED", "QUEUED", "SCORED"]
    assert rewards_total() == 30


def test_the_judge_task_and_command_run_the_scripted_judge(settings):
    from attention import tasks

    settings.ATTENTION_JUDGE = "attention.judges:length_judge"
    make_review_item(artifact=" ".join(f"w{n}" for n in range(20)))
    assert tasks.judge_queue_task.run() == 1
    make_review_item(artifact="short")
    out = StringIO()
    call_command("judge_queue", stdout=out)
    assert json.loads(out.getvalue()) == {"scored": 1}
    assert rewards_total() == 2 * settings.REWARD_PER_POINT


def test_a_misspelt_scripted_judge_is_reported_by_the_system_checks(settings):
    from attention.checks import scripted_judge_importable

    settings.ATTENTION_JUDGE = "attention.judges:no_such_judge"
    assert [e.id for e in scripted_judge_importable(None)] == ["attention.E001"]
    settings.ATTENTION_JUDGE = "attention.judges:length_judge"
    assert scripted_judge_importable(None) == []
