"""The sandbox API and services without Docker: who may do what, and every state change happening once."""

from __future__ import annotations

import base64
import functools
import itertools
import json
import operator
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from economy.models import Agent, Transfer
from economy.selectors import get_balance, ledger_violations
from market.bundles import ResourceBundle
from market.models import Bid, WorkerHost
from market.services import place_bid, run_market_tick
from sandbox import services, tasks
from sandbox.models import Execution, Workspace
from tests.factories import (
    auth,
    make_agent,
    make_execution,
    make_program_agent,
    make_worker,
    run_in_threads,
    worker_auth,
)

pytestmark = pytest.mark.django_db


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def claim(api, execution: Execution, raw: str) -> dict:
    response = api.post(f"/sandbox/executions/{execution.id}/claim", **worker_auth(raw))
    assert response.status_code == 200, response.json()
    return response.json()


def result_body(attempt: int, **overrides) -> dict:
    body = {"attempt": attempt, "status": "SUCCEEDED", "exit_code": 0, "stdout": "hi\n", "stderr": "", "files": None}
    body.update(overrides)
    return body


def post_result(api, execution: Execution, raw: str, body: dict):
    return api.post(f"/sandbox/executions/{execution.id}/result", body, format="json", **worker_auth(raw))


def claimed_by_the_first_of_two_workers(api) -> tuple[Agent, Execution, str, str, dict]:
    """A program agent's execution claimed by one of two workers: (agent, execution, the claimant's token, the
    other worker's token, the claimed spec)."""
    agent, _ = make_program_agent()
    execution = make_execution(agent=agent)
    _, first = make_worker()
    _, second = make_worker()
    return agent, execution, first, second, claim(api, execution, first)


def test_a_tick_creates_one_queued_execution_per_won_bid_and_enqueues_each_on_commit(
    django_capture_on_commit_callbacks, sandbox_enqueued, round_prices
) -> None:
    agents = [make_program_agent()[0] for _ in range(4)]
    for agent in agents:
        place_bid(agent_id=agent.id, bundle=ResourceBundle(500, 128, 10), max_price=50)
    loser, _ = make_agent(credits=100)
    place_bid(agent_id=loser.id, bundle=ResourceBundle(2000, 1024, 10), max_price=25)  # does not fit any more
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        tick = run_market_tick()
    won = Bid.objects.filter(tick_number=tick.number, status=Bid.Status.WON)
    executions = list(Execution.objects.filter(bid__tick_number=tick.number).order_by("id"))
    assert sorted(e.bid_id for e in executions) == sorted(won.values_list("id", flat=True))
    assert {e.agent_id for e in executions} <= {a.id for a in agents}
    assert all(e.status == Execution.Status.QUEUED and e.attempts == 0 for e in executions)
    # Nothing is handed to Celery before the commit; then each execution exactly once.
    assert len(callbacks) == len(executions)
    assert sandbox_enqueued == [e.id for e in executions]
    # Set-based and idempotent: a repeated hand-over is one statement and creates nothing.
    with CaptureQueriesContext(connection) as queries:
        assert services.create_executions_for_tick(tick_number=tick.number) == []
    assert len(queries) <= 3  # the INSERT … SELECT (plus savepoint bookkeeping)


def test_claim_hands_out_the_spec_and_a_token_valid_for_that_execution_only(api) -> None:
    agent, own_token = make_program_agent(code="print(1)\n")
    execution = make_execution(agent=agent, wall_seconds=10)
    _, raw = make_worker(name="w1")
    spec = claim(api, execution, raw)
    assert spec["execution_id"] == execution.id and spec["agent_id"] == agent.id and spec["attempt"] == 1
    assert (spec["cpu_millicores"], spec["memory_mb"], spec["wall_seconds"]) == (500, 128, 10)
    assert base64.b64decode(spec["files"]["agent.py"]) == b"print(1)\n"
    assert spec["image"].startswith("bp-agent-runtime:")
    execution.refresh_from_db()
    assert execution.status == Execution.Status.RUNNING and execution.worker == "w1"
    assert execution.lease_expires_at > timezone.now()
    token = execution.tokens.get().token
    assert timedelta(seconds=10) < token.expires_at - timezone.now() <= timedelta(seconds=10 + 60)
    assert api.get(f"/economic/balance/{agent.id}", **auth(spec["token"])).status_code == 200
    # A second claim (a duplicate message) is refused and issues nothing.
    again = api.post(f"/sandbox/executions/{execution.id}/claim", **worker_auth(raw))
    assert again.status_code == 409 and again.json()["code"] == "execution_not_queued"
    assert execution.tokens.count() == 1
    assert api.post("/sandbox/executions/999999/claim", **worker_auth(raw)).status_code == 404
    assert own_token != spec["token"]


def test_a_result_is_recorded_once_and_the_execution_token_then_stops_working(api) -> None:
    agent, execution, raw, other_raw, spec = claimed_by_the_first_of_two_workers(api)

    stranger = post_result(api, execution, other_raw, result_body(1))
    assert stranger.status_code == 409 and stranger.json()["code"] == "execution_not_claimed"
    stale = post_result(api, execution, raw, result_body(2))
    assert stale.status_code == 409 and stale.json()["code"] == "execution_not_claimed"

    files = {"agent.py": b64(b"print(2)\n"), "data/state.json": b64(b"{}")}
    first = post_result(api, execution, raw, result_body(1, files=files, stdout="x\x00y"))
    assert first.status_code == 201, first.json()
    assert first.json()["status"] == "SUCCEEDED" and first.json()["stdout"] == "x\ufffdy"
    second = post_result(api, execution, raw, result_body(1, status="FAILED", exit_code=1))
    assert second.status_code == 409 and second.json()["code"] == "result_already_recorded"

    execution.refresh_from_db()
    assert execution.status == Execution.Status.SUCCEEDED and execution.exit_code == 0
    assert execution.workspace_outcome == Execution.WorkspaceOutcome.SAVED
    assert set(Workspace.objects.get(agent=agent).files) == {"agent.py", "data/state.json"}
    denied = api.get(f"/economic/balance/{agent.id}", **auth(spec["token"]))
    assert denied.status_code == 401
    artifact = api.post("/sandbox/artifact", {"text": "late"}, format="json", **auth(spec["token"]))
    assert artifact.status_code == 401
    heartbeat = api.post(
        f"/sandbox/executions/{execution.id}/heartbeat", {"attempt": 1}, format="json", **worker_auth(raw)
    )
    assert heartbeat.status_code == 409 and heartbeat.json()["code"] == "result_already_recorded"


def test_a_workspace_over_the_cap_is_refused_and_the_old_one_kept(api, settings) -> None:
    settings.SANDBOX_WORKSPACE_MAX_BYTES = 1000
    agent, _ = make_program_agent(code="print(1)\n")
    execution = make_execution(agent=agent)
    _, raw = make_worker()
    claim(api, execution, raw)
    files = {"agent.py": b64(b"print(1)\n"), "big.bin": b64(b"z" * 2000)}
    assert post_result(api, execution, raw, result_body(1, files=files)).status_code == 201
    execution.refresh_from_db()
    assert execution.workspace_outcome == Execution.WorkspaceOutcome.TOO_LARGE
    assert set(Workspace.objects.get(agent=agent).files) == {"agent.py"}


def test_a_workspace_with_an_escaping_path_is_refused(api) -> None:
    agent, _ = make_program_agent(code="print(1)\n")
    execution = make_execution(agent=agent)
    _, raw = make_worker()
    claim(api, execution, raw)
    files = {"../etc/passwd": b64(b"x")}
    assert post_result(api, execution, raw, result_body(1, files=files)).status_code == 201
    execution.refresh_from_db()
    assert execution.workspace_outcome == Execution.WorkspaceOutcome.INVALID
    assert set(Workspace.objects.get(agent=agent).files) == {"agent.py"}


def test_an_artifact_attaches_only_to_the_running_execution_of_its_token(api, settings) -> None:
    settings.SANDBOX_ARTIFACT_MAX_CHARS = 10
    me, my_own_token = make_program_agent()
    other, other_own_token = make_program_agent()
    mine = make_execution(agent=me)
    theirs = make_execution(agent=other)
    _, raw = make_worker()
    my_spec = claim(api, mine, raw)
    their_spec = claim(api, theirs, raw)

    # The other agent's tokens reach only its own execution, never mine.
    plain = api.post("/sandbox/artifact", {"text": "spam"}, format="json", **auth(other_own_token))
    assert plain.status_code == 403 and plain.json()["code"] == "not_execution_token"
    scoped = api.post("/sandbox/artifact", {"text": "theirs"}, format="json", **auth(their_spec["token"]))
    assert scoped.status_code == 200 and scoped.json()["execution_id"] == theirs.id
    mine.refresh_from_db()
    assert mine.artifact == ""
    assert api.post("/sandbox/artifact", {"text": "x"}, format="json", **auth(my_own_token)).status_code == 403

    ok = api.post("/sandbox/artifact", {"text": "my poem"}, format="json", **auth(my_spec["token"]))
    assert ok.status_code == 200 and ok.json()["chars"] == 7
    too_long = api.post("/sandbox/artifact", {"text": "x" * 11}, format="json", **auth(my_spec["token"]))
    assert too_long.status_code == 413 and too_long.json()["code"] == "artifact_too_large"
    not_text = api.post("/sandbox/artifact", {"text": 5}, format="json", **auth(my_spec["token"]))
    assert not_text.status_code == 400
    mine.refresh_from_db()
    assert mine.artifact == "my poem"


def test_worker_endpoints_refuse_agent_tokens_and_agent_endpoints_refuse_worker_tokens(api) -> None:
    agent, agent_token = make_program_agent()
    execution = make_execution(agent=agent)
    _, raw = make_worker()
    for path, body in [
        (f"/sandbox/executions/{execution.id}/claim", {}),
        (f"/sandbox/executions/{execution.id}/heartbeat", {"attempt": 1}),
        (f"/sandbox/executions/{execution.id}/result", result_body(1)),
        ("/sandbox/workers/heartbeat", {"name": "x", "cpu_millicores": 1, "memory_mb": 1}),
    ]:
        response = api.post(path, body, format="json", **auth(agent_token))
        assert response.status_code == 403, path
        assert api.post(path, body, format="json").status_code == 401, path
        assert api.post(path, body, format="json", **worker_auth("bpw_forged")).status_code == 401, path
    for method, path in [
        ("post", "/sandbox/artifact"),
        ("get", "/sandbox/executions"),
        ("get", f"/sandbox/executions/{execution.id}"),
        ("get", f"/economic/balance/{agent.id}"),
    ]:
        response = getattr(api, method)(path, {"text": "x"} if method == "post" else None, **worker_auth(raw))
        assert response.status_code in (401, 403), path
    execution.refresh_from_db()
    assert execution.status == Execution.Status.QUEUED


def test_agents_list_and_read_only_their_own_executions(api) -> None:
    me, my_token = make_program_agent()
    other, _ = make_program_agent()
    mine = [make_execution(agent=me) for _ in range(2)]
    theirs = make_execution(agent=other)
    listed = api.get("/sandbox/executions", **auth(my_token)).json()
    assert listed["count"] == 2 and [e["id"] for e in listed["results"]] == [mine[1].id, mine[0].id]
    assert api.get(f"/sandbox/executions/{mine[0].id}", **auth(my_token)).json()["status"] == "QUEUED"
    hidden = api.get(f"/sandbox/executions/{theirs.id}", **auth(my_token))
    assert hidden.status_code == 404 and hidden.json()["code"] == "unknown_execution"


def test_an_expired_lease_is_marked_lost_once_and_the_price_refunded(api, settings) -> None:
    agent, _ = make_program_agent(credits=1000)
    execution = make_execution(agent=agent)
    paid = execution.bid.price
    assert paid > 0
    _, raw = make_worker()
    spec = claim(api, execution, raw)
    balance = get_balance(agent_id=agent.id)
    assert services.reap_lost_executions() == []  # the lease is still valid

    Execution.objects.filter(id=execution.id).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert tasks.reap_executions() == 1
    assert services.reap_lost_executions() == []
    out = StringIO()
    call_command("reap_executions", stdout=out)
    assert out.getvalue().startswith("0 execution(s)")

    execution.refresh_from_db()
    assert execution.status == Execution.Status.LOST and execution.refunded == paid
    assert get_balance(agent_id=agent.id) == balance + paid
    assert Transfer.objects.filter(kind=Transfer.Kind.REFUND, amount=paid).count() == 1
    assert ledger_violations() == []
    late = post_result(api, execution, raw, result_body(spec["attempt"]))
    assert late.status_code == 409 and late.json()["code"] == "result_already_recorded"
    assert api.get(f"/economic/balance/{agent.id}", **auth(spec["token"])).status_code == 401


def test_a_reclaim_after_the_lease_expired_fences_off_the_first_worker(api) -> None:
    agent, execution, first, second, first_spec = claimed_by_the_first_of_two_workers(api)
    refused = api.post(f"/sandbox/executions/{execution.id}/claim", **worker_auth(second))
    assert refused.status_code == 409
    Execution.objects.filter(id=execution.id).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    second_spec = claim(api, execution, second)
    assert second_spec["attempt"] == 2
    # The first worker's token, heartbeat and result are refused; the second worker's result is the one.
    assert api.get(f"/economic/balance/{agent.id}", **auth(first_spec["token"])).status_code == 401
    beat = api.post(
        f"/sandbox/executions/{execution.id}/heartbeat", {"attempt": 1}, format="json", **worker_auth(first)
    )
    assert beat.status_code == 409
    assert post_result(api, execution, first, result_body(1)).status_code == 409
    assert post_result(api, execution, second, result_body(2, stdout="second")).status_code == 201
    execution.refresh_from_db()
    assert (execution.status, execution.attempts, execution.stdout) == (Execution.Status.SUCCEEDED, 2, "second")


def test_a_worker_heartbeat_reports_its_capacity_to_the_market(api) -> None:
    _, raw = make_worker(name="host-a")
    body = {"name": "host-a", "cpu_millicores": 4000, "memory_mb": 8192}
    response = api.post("/sandbox/workers/heartbeat", body, format="json", **worker_auth(raw))
    assert response.status_code == 200
    host = WorkerHost.objects.get(name="host-a")
    assert (host.cpu_millicores, host.memory_mb) == (4000, 8192)


def test_create_agent_sets_the_program_from_a_file_or_a_default(tmp_path) -> None:
    program = tmp_path / "agent.py"
    program.write_text("print('mine')\n")
    out = StringIO()
    call_command("create_agent", "--name", "coder", "--credits", "7", "--code", str(program), stdout=out)
    created = json.loads(out.getvalue())
    assert set(created) == {"id", "name", "balance", "token"} and created["balance"] == 7
    files = Workspace.objects.get(agent_id=created["id"]).files
    assert base64.b64decode(files["agent.py"]) == b"print('mine')\n"

    out = StringIO()
    call_command("create_agent", "--name", "plain", stdout=out)
    plain = Agent.objects.get(id=json.loads(out.getvalue())["id"])
    assert base64.b64decode(plain.workspace.files["agent.py"]) == services.DEFAULT_PROGRAM


def test_create_worker_token_prints_a_token_stored_hashed() -> None:
    out = StringIO()
    call_command("create_worker_token", "--name", "host-b", stdout=out)
    raw = out.getvalue().strip()
    assert raw.startswith("bpw_")
    from sandbox.models import WorkerToken

    token = WorkerToken.objects.get(name="host-b")
    assert raw not in token.key_hash and len(token.key_hash) == 64


def test_an_archived_workspace_is_kept_and_cannot_be_replaced() -> None:
    agent, _ = make_program_agent(code="print(1)\n")
    assert services.archive_workspace(agent_id=agent.id) is True
    assert services.archive_workspace(agent_id=agent.id) is False
    with pytest.raises(services.errors.InvalidWorkspace):
        services.set_workspace(agent_id=agent.id, files={"agent.py": b"print(2)\n"})
    assert base64.b64decode(Workspace.objects.get(agent=agent).files["agent.py"]) == b"print(1)\n"


def test_the_admin_shows_logs_and_artifact_escaped(client, admin_user) -> None:
    agent, _ = make_program_agent()
    execution = make_execution(agent=agent)
    Execution.objects.filter(id=execution.id).update(artifact="<script>alert(1)</script>", stdout="<b>out</b>")
    client.force_login(admin_user)
    page = client.get(f"/admin/sandbox/execution/{execution.id}/change/").content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page
    assert "&lt;b&gt;out&lt;/b&gt;" in page
    assert client.get("/admin/sandbox/execution/").status_code == 200
    assert client.get(f"/admin/sandbox/workspace/{agent.id}/change/").status_code == 200
    assert client.get("/admin/sandbox/workertoken/").status_code == 200


def test_queued_executions_nobody_claimed_are_sent_again_each_at_most_once_per_growing_interval(
    sandbox_enqueued, settings, django_capture_on_commit_callbacks
):
    """Finding 9: the reaper re-published every stale QUEUED execution on every beat (a flood under backlog)."""
    settings.SANDBOX_REDISPATCH_SECONDS = 60
    settings.SANDBOX_REDISPATCH_MAX_SECONDS = 300
    agent, _ = make_program_agent()
    with django_capture_on_commit_callbacks(execute=True):
        stale = make_execution(agent=agent)
        fresh = make_execution(agent=agent)
    assert sandbox_enqueued == [stale.id, fresh.id]  # each sent once when its tick committed
    stale.refresh_from_db()
    assert stale.dispatches == 1 and stale.redispatch_at == stale.dispatched_at + timedelta(seconds=60)
    sandbox_enqueued.clear()

    start = timezone.now()
    sends = []
    # Simulate an hour of reaper beats every 15 s while the stale execution stays QUEUED.
    for beat in range(0, 3600, 15):
        now = start + timedelta(seconds=beat)
        Execution.objects.filter(id=fresh.id).update(redispatch_at=now + timedelta(days=1))  # claimed soon
        with django_capture_on_commit_callbacks(execute=True), pytest.MonkeyPatch.context() as patch:
            patch.setattr(timezone, "now", lambda now=now: now)
            sent = services.redispatch_stale_executions()
        if sent:
            sends.append((beat, sent))
    assert all(ids == [stale.id] for _, ids in sends)
    assert fresh.id not in sandbox_enqueued
    beats = [beat for beat, _ in sends]
    gaps = [later - earlier for earlier, later in itertools.pairwise(beats)]
    # Sent again after 60 s, then 120, 240, then every 300 s (the cap): 14 sends in an hour, not 240.
    assert beats[0] == 60
    assert gaps[:3] == [120, 240, 300] and set(gaps[3:]) == {300}
    assert len(sends) == len(sandbox_enqueued) == 13
    stale.refresh_from_db()
    assert stale.dispatches == 14 and stale.dispatched_at == start + timedelta(seconds=beats[-1])


@pytest.mark.django_db(transaction=True)
def test_two_reapers_at_once_send_a_stale_execution_once(sandbox_enqueued, settings, postgres_only):
    settings.SANDBOX_REDISPATCH_SECONDS = 1
    agent, _ = make_program_agent()
    stale = make_execution(agent=agent)
    Execution.objects.filter(id=stale.id).update(redispatch_at=timezone.now() - timedelta(seconds=5))
    results = run_in_threads(lambda _: services.redispatch_stale_executions(), 4)
    assert sorted(functools.reduce(operator.iadd, results, [])) == [stale.id]


# --- finding 3: a worker reports only for its own host, within bounds; stale hosts are forgotten -----------------


def test_a_worker_reports_capacity_only_for_its_own_host_within_bounds(api, settings) -> None:
    settings.MARKET_WORKER_CPU_MILLICORES_BOUNDS = (100, 64_000)
    settings.MARKET_WORKER_MEMORY_MB_BOUNDS = (64, 1024 * 1024)
    _, raw = make_worker(name="host-c")
    forged = api.post(
        "/sandbox/workers/heartbeat",
        {"name": "x", "cpu_millicores": 1, "memory_mb": 1},
        format="json",
        **worker_auth(raw),
    )
    assert forged.status_code == 403 and forged.json()["code"] == "worker_name_mismatch"
    for body in ({"cpu_millicores": 1, "memory_mb": 4096}, {"cpu_millicores": 4000, "memory_mb": 1}):
        tiny = api.post("/sandbox/workers/heartbeat", body, format="json", **worker_auth(raw))
        assert tiny.status_code == 400 and tiny.json()["code"] == "invalid_capacity", tiny.json()
    huge = api.post(
        "/sandbox/workers/heartbeat", {"cpu_millicores": 10**9, "memory_mb": 4096}, format="json", **worker_auth(raw)
    )
    assert huge.status_code == 400 and huge.json()["code"] == "invalid_capacity"
    assert not WorkerHost.objects.exists()

    fine = api.post(
        "/sandbox/workers/heartbeat", {"cpu_millicores": 4000, "memory_mb": 8192}, format="json", **worker_auth(raw)
    )
    assert fine.status_code == 200 and fine.json()["name"] == "host-c"
    assert list(WorkerHost.objects.values_list("name", "cpu_millicores", "memory_mb")) == [("host-c", 4000, 8192)]


def test_a_worker_learns_its_name_from_its_token(api) -> None:
    _, raw = make_worker(name="host-d")
    me = api.get("/sandbox/workers/me", **worker_auth(raw))
    assert me.status_code == 200 and me.json() == {"name": "host-d"}
    refused = api.get("/sandbox/workers/me", HTTP_AUTHORIZATION="Worker bpw_not-a-token")
    assert refused.status_code == 401 and "code" in refused.json()
    _, agent_token = make_agent()
    assert api.get("/sandbox/workers/me", **auth(agent_token)).status_code == 403


def test_the_reaper_forgets_worker_hosts_that_stopped_reporting(settings) -> None:
    from market.services import current_supply

    settings.MARKET_WORKER_TTL_SECONDS = 120
    now = timezone.now()
    WorkerHost.objects.create(name="gone", cpu_millicores=1000, memory_mb=1024, last_seen=now - timedelta(minutes=5))
    WorkerHost.objects.create(name="live", cpu_millicores=3000, memory_mb=4096, last_seen=now)
    assert current_supply()["cpu"] == 3000  # a stale host no longer counts
    tasks.reap_executions()
    assert list(WorkerHost.objects.values_list("name", flat=True)) == ["live"]


# --- finding 9: a result posted after the agent died keeps the archived workspace ---------------------------------


def test_a_result_posted_after_the_agent_died_does_not_overwrite_its_archived_workspace(api) -> None:
    agent, _ = make_program_agent(code="print('last words')\n")
    execution = make_execution(agent=agent)
    _, raw = make_worker()
    spec = claim(api, execution, raw)
    assert services.archive_workspace(agent_id=agent.id)  # the agent died while its program ran
    before = Workspace.objects.get(agent=agent)
    files = {"agent.py": b64(b"print('rewritten after death')\n"), "loot.txt": b64(b"x")}
    response = post_result(api, execution, raw, result_body(spec["attempt"], files=files))
    assert response.status_code == 201
    assert response.json()["workspace_outcome"] == "archived"
    after = Workspace.objects.get(agent=agent)
    assert after.files == before.files and after.archived_at == before.archived_at
    assert base64.b64decode(after.files["agent.py"]) == b"print('last words')\n"


# --- finding 1: the system refunds only what the system lost ------------------------------------------------------


def test_a_lost_execution_whose_run_had_ended_is_not_refunded(api) -> None:
    agent, _ = make_program_agent(credits=1000)
    execution = make_execution(agent=agent)
    _, raw = make_worker()
    spec = claim(api, execution, raw)
    ended = api.post(
        f"/sandbox/executions/{execution.id}/heartbeat",
        {"attempt": spec["attempt"], "run_ended": True},
        format="json",
        **worker_auth(raw),
    )
    assert ended.status_code == 200
    balance = get_balance(agent_id=agent.id)
    # The worker could not post the result (the agent's output made it unpostable) and the lease lapsed.
    Execution.objects.filter(id=execution.id).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert services.reap_lost_executions() == [execution.id]
    execution.refresh_from_db()
    assert execution.status == Execution.Status.LOST and execution.refunded == 0
    assert "no refund" in execution.error
    assert get_balance(agent_id=agent.id) == balance
    assert not Transfer.objects.filter(kind=Transfer.Kind.REFUND).exists()
    assert ledger_violations() == []


def test_the_spec_tells_the_worker_the_caps_and_the_largest_result(api, settings) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 123_456
    agent, _ = make_program_agent()
    execution = make_execution(agent=agent)
    _, raw = make_worker()
    spec = claim(api, execution, raw)
    assert spec["max_result_bytes"] == 123_456
    assert spec["workspace_max_files"] == settings.SANDBOX_WORKSPACE_MAX_FILES
