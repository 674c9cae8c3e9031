"""Hostile agents through the full path (issue 9): a bid won in a market tick, the sandbox worker task with the warm
pool on (real Docker, a live API), the result recorded. Every case ends with one recorded outcome of the agent's own
making (never LOST, nothing refunded), the ledger sound, and no container left."""

from __future__ import annotations

import base64
import io
import json
import statistics
import tarfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from rest_framework.test import APIClient

from economy.models import AgentToken
from economy.selectors import get_balance, ledger_violations
from market.bundles import ResourceBundle
from market.models import Bid
from market.services import place_bid, run_market_tick
from sandbox import worker, worker_tasks
from sandbox.docker_runner import execution_containers
from sandbox.models import Execution, Workspace
from tests.factories import make_execution, make_program_agent

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

FINAL_OF_THE_AGENT = {
    Execution.Status.SUCCEEDED,
    Execution.Status.FAILED,
    Execution.Status.TIMED_OUT,
    Execution.Status.OOM_KILLED,
}


def pool_stats(docker_client: Any) -> dict[str, int]:
    pool = worker.warm_pool(worker_tasks.worker_config(), docker_client)
    assert pool is not None
    return dict(pool.stats())


def run_through_the_tick(execution: Execution, docker_client: Any) -> Execution:
    """The worker task runs the tick's execution (in a warm-pool container) and the result is recorded."""
    taken = pool_stats(docker_client)["taken"]
    worker_tasks.run_execution(execution.id)
    execution.refresh_from_db()
    assert pool_stats(docker_client)["taken"] == taken + 1, "the execution did not run in a warm-pool container"
    return execution


def assert_recorded_by_the_agent(execution: Execution, docker_client: Any) -> None:
    """One outcome of the agent's own making: recorded, not LOST, nothing refunded; the ledger sound; no container."""
    assert execution.status in FINAL_OF_THE_AGENT, (execution.status, execution.error)
    assert execution.refunded == 0
    assert execution.finished_at is not None
    assert ledger_violations() == []
    deployment = worker_tasks.worker_config().deployment_id
    assert worker.wait_removals()  # removed after the result, off the dispatch -> result path
    assert not execution_containers(docker_client, execution.id, worker_name=execution.worker, deployment=deployment)
    assert not AgentToken.objects.filter(execution_link__execution=execution, revoked_at__isnull=True).exists()


# --- programs, each with what must hold afterwards -----------------------------------------------------------------


def _forged_archive() -> str:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        data = b"print('forged program')\n"
        info = tarfile.TarInfo("agent.py")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
        info = tarfile.TarInfo("forged.txt")
        info.size = 6
        tar.addfile(info, io.BytesIO(b"forged"))
    return base64.b64encode(buf.getvalue()).decode()


FORGED_LINE = json.dumps(
    {
        "bp_result": 1,
        "exit_code": 0,
        "stdout": "all fine",
        "stderr": "",
        "stdout_truncated": False,
        "stderr_truncated": False,
        "terminated": False,
        "oom_kills": 0,
        "duration_ms": 1,
        "workspace": _forged_archive(),
    }
)


@dataclass
class Hostile:
    code: str
    bundle: dict[str, int]
    check: Callable[[Execution, dict[str, bytes]], None]


def _files(execution: Execution) -> dict[str, bytes]:
    stored = Workspace.objects.get(agent_id=execution.agent_id).files
    return {name: base64.b64decode(value) for name, value in stored.items()}


def _memory_hog(e: Execution, files: dict[str, bytes]) -> None:
    assert e.status == Execution.Status.OOM_KILLED and e.exit_code == 137
    assert "allocating" in e.stdout and "survived" not in e.stdout


def _spinner(e: Execution, files: dict[str, bytes]) -> None:
    assert e.status == Execution.Status.TIMED_OUT and "spinning" in e.stdout
    assert e.workspace_outcome == Execution.WorkspaceOutcome.UNCHANGED


def _fork_bomb(e: Execution, files: dict[str, bytes]) -> None:
    assert e.status == Execution.Status.TIMED_OUT and "fork failed 11" in e.stdout  # EAGAIN: the pids limit held


def _huge_output(e: Execution, files: dict[str, bytes]) -> None:
    assert e.status == Execution.Status.SUCCEEDED
    assert e.stdout_truncated and e.stderr_truncated and "END" not in e.stdout


def _long_names(e: Execution, files: dict[str, bytes]) -> None:
    assert e.status == Execution.Status.SUCCEEDED and e.stdout == "made long names\n"
    assert e.workspace_outcome != Execution.WorkspaceOutcome.SAVED  # names beyond 255 characters are refused
    assert set(files) == {"agent.py"}  # the workspace before the run is kept


def _many_files(e: Execution, files: dict[str, bytes]) -> None:
    assert e.status == Execution.Status.SUCCEEDED and e.stdout == "made 12000 files\n"
    assert e.workspace_outcome == Execution.WorkspaceOutcome.TOO_LARGE and "over the cap" in e.error
    assert set(files) == {"agent.py"}


def _archive_bomb(e: Execution, files: dict[str, bytes]) -> None:
    # A sparse file: 256 MiB that tars into a small gzip stream and would expand to 256 MiB on the worker.
    assert e.status in (Execution.Status.SUCCEEDED, Execution.Status.TIMED_OUT)
    assert "sparse file made" in e.stdout
    if e.status == Execution.Status.SUCCEEDED:  # refused from sizes and headers, never expanded
        assert "over the cap" in e.error, e.error
    assert e.workspace_outcome in (Execution.WorkspaceOutcome.TOO_LARGE, Execution.WorkspaceOutcome.UNCHANGED)
    assert set(files) == {"agent.py"}


def _forged_result(e: Execution, files: dict[str, bytes]) -> None:
    # The agent's printed "report" is only its output; the real exit code and the real workspace are recorded.
    assert e.status == Execution.Status.FAILED and e.exit_code == 3
    assert FORGED_LINE in e.stdout and FORGED_LINE in e.stderr
    assert "proc-fd: 13" in e.stdout  # EACCES: the wrapper's own stdout is out of reach
    assert e.workspace_outcome == Execution.WorkspaceOutcome.SAVED
    assert "forged.txt" not in files and files["real.txt"] == b"real"
    assert b"forged program" not in files["agent.py"]


HOSTILE = {
    "memory hog": Hostile(
        "print('allocating', flush=True)\nblob = b'x' * (512 * 1024 * 1024)\nprint('survived')\n",
        {"memory_mb": 64, "wall_seconds": 20},
        _memory_hog,
    ),
    "spinner": Hostile("print('spinning', flush=True)\nwhile True: pass\n", {"wall_seconds": 2}, _spinner),
    "fork bomb": Hostile(
        "import os\ntold = False\nwhile True:\n    try:\n        os.fork()\n    except OSError as exc:\n"
        "        if not told:\n            told = True\n            print('fork failed', exc.errno, flush=True)\n",
        {"wall_seconds": 3},
        _fork_bomb,
    ),
    "huge output": Hostile(
        "import sys\nchunk = b'y' * (1024 * 1024)\nfor _ in range(200):\n"
        "    sys.stdout.buffer.write(chunk)\n    sys.stderr.buffer.write(chunk)\nsys.stdout.buffer.write(b'END')\n",
        {"wall_seconds": 60},
        _huge_output,
    ),
    "long names": Hostile(
        "import os\npath = '.'\nfor i in range(14):\n    path = os.path.join(path, chr(97 + i) * 250)\n"
        "os.makedirs(path)\nopen(os.path.join(path, 'f' * 250), 'w').write('deep')\nopen('g' * 255, 'w').write('x')\n"
        "print('made long names')\n",
        {"wall_seconds": 20},
        _long_names,
    ),
    "many files": Hostile(
        "for i in range(12000):\n    open(('%05d' % i) + 'n' * 245, 'w').close()\nprint('made 12000 files')\n",
        {"wall_seconds": 60, "memory_mb": 256},
        _many_files,
    ),
    "archive bomb": Hostile(
        "with open('bomb.bin', 'wb') as fh:\n    fh.seek(1 << 28)\n    fh.write(b'x')\n"
        "print('sparse file made', flush=True)\n",
        {"wall_seconds": 20, "cpu_millicores": 1000},
        _archive_bomb,
    ),
    "forged result": Hostile(
        "import os, sys\nline = " + repr(FORGED_LINE) + "\nopen('real.txt', 'w').write('real')\n"
        "print(line, flush=True)\nprint(line, file=sys.stderr, flush=True)\n"
        "try:\n    open('/proc/1/fd/1', 'w').write(line + '\\n')\nexcept OSError as exc:\n"
        "    print('proc-fd:', exc.errno, flush=True)\n"
        "sys.stdout.write('\\n' + line + '\\n')\nsys.stdout.flush()\nsys.exit(3)\n",
        {"wall_seconds": 20},
        _forged_result,
    ),
}


@pytest.mark.parametrize("label", [pytest.param(label, id=label.replace(" ", "-")) for label in HOSTILE])
def test_a_hostile_program_gets_an_outcome_of_its_own_making(label, warm_worker, docker_client) -> None:
    hostile = HOSTILE[label]
    agent, _ = make_program_agent(code=hostile.code)
    execution = make_execution(agent=agent, **hostile.bundle)
    assert execution.status == Execution.Status.QUEUED
    execution = run_through_the_tick(execution, docker_client)
    assert_recorded_by_the_agent(execution, docker_client)
    hostile.check(execution, _files(execution))


# --- tokens -----------------------------------------------------------------------------------------------------

KEEPER = """
import bp, json, os
try:
    old = open("old_token").read()
except OSError:
    old = None
answer = {"own": bp.balance()}
if old:
    try:
        bp.request("GET", "/economic/balance/" + bp.agent_id(), headers={"Authorization": "Bearer " + old})
        answer["old"] = "accepted"
    except bp.APIError as exc:
        answer["old"] = [exc.status, exc.code]
open("old_token", "w").write(os.environ["BP_TOKEN"])
print(json.dumps(answer))
"""


def test_a_token_is_dead_after_its_run(warm_worker, docker_client) -> None:
    agent, _ = make_program_agent(code=KEEPER)
    first = run_through_the_tick(make_execution(agent=agent), docker_client)
    assert_recorded_by_the_agent(first, docker_client)
    assert first.status == Execution.Status.SUCCEEDED, first.stderr
    old_token = _files(first)["old_token"].decode()
    # From outside, right after the run, the token is refused.
    client = APIClient()
    answer = client.get(f"/economic/balance/{agent.id}", HTTP_AUTHORIZATION=f"Bearer {old_token}")
    assert answer.status_code == 401 and answer.json()["code"] == "authentication_failed"
    # From inside the next run, too; that run's own token works.
    second = run_through_the_tick(make_execution(agent=agent), docker_client)
    assert_recorded_by_the_agent(second, docker_client)
    out = json.loads(second.stdout)
    assert isinstance(out["own"], int)
    assert out["old"] == [401, "authentication_failed"]
    assert _files(second)["old_token"].decode() != old_token


# --- acting as another agent --------------------------------------------------------------------------------------

IMPERSONATOR = """
import bp, json
victim, victim_bid, victim_execution = {victim}, {victim_bid}, {victim_execution}
me = bp.execution_id()
tries = {{
    "transfer from the victim": ("POST", "/economic/transfer", {{"from_id": victim, "to_id": int(bp.agent_id()),
                                                              "amount": 5}}),
    "cancel the victim's bid": ("DELETE", f"/market/bids/{{victim_bid}}", None),
    "attention for the victim's execution": ("POST", "/attention/bids", {{"execution_id": victim_execution,
                                                                        "max_price": 5}}),
    "claim as a worker": ("POST", f"/sandbox/executions/{{me}}/claim", {{}}),
    "post my own result": ("POST", f"/sandbox/executions/{{me}}/result", {{"attempt": 1, "status": "SUCCEEDED"}}),
    "worker heartbeat": ("POST", "/sandbox/workers/heartbeat", {{"name": "x", "cpu_millicores": 1, "memory_mb": 1}}),
}}
out = {{}}
for label, (method, path, body) in tries.items():
    try:
        bp.request(method, path, body, headers={{"Idempotency-Key": label}} if "transfer" in label else None)
        out[label] = "ACCEPTED"
    except bp.APIError as exc:
        out[label] = [exc.status, exc.code]
try:
    bp.request("POST", f"/sandbox/executions/{{me}}/result", {{"attempt": 1, "status": "SUCCEEDED"}},
               headers={{"Authorization": "Worker " + __import__("os").environ["BP_TOKEN"]}})
    out["my token as a worker token"] = "ACCEPTED"
except bp.APIError as exc:
    out["my token as a worker token"] = [exc.status, exc.code]
print(json.dumps(out))
"""


def test_an_agent_cannot_act_as_another_agent_or_as_a_worker(warm_worker, docker_client) -> None:
    victim, _ = make_program_agent(credits=1000)
    victim_execution = make_execution(agent=victim)
    victim_bid = place_bid(agent_id=victim.id, bundle=ResourceBundle(500, 128, 10), max_price=50)
    victim_balance = get_balance(agent_id=victim.id)
    code = IMPERSONATOR.format(victim=victim.id, victim_bid=victim_bid.id, victim_execution=victim_execution.id)
    agent, _ = make_program_agent(code=code)
    bid = place_bid(agent_id=agent.id, bundle=ResourceBundle(500, 128, 10), max_price=500)
    run_market_tick()  # both pending bids take part: the victim's wins a second execution too
    execution = Execution.objects.get(bid=bid)
    execution = run_through_the_tick(execution, docker_client)
    assert_recorded_by_the_agent(execution, docker_client)
    assert execution.status == Execution.Status.SUCCEEDED, execution.stderr
    out = json.loads(execution.stdout)
    assert all(isinstance(v, list) and 400 <= v[0] < 500 for v in out.values()), out
    assert out["transfer from the victim"][0] == 403
    assert {v[0] for k, v in out.items() if "worker" in k or "result" in k} <= {401, 403}
    # Nothing of the victim's moved: its balance changed only by what its own winning bid paid.
    victim_bid.refresh_from_db()
    assert victim_bid.status in (Bid.Status.WON, Bid.Status.LOST)
    paid = victim_bid.price if victim_bid.status == Bid.Status.WON else 0
    assert get_balance(agent_id=victim.id) == victim_balance + (victim_bid.max_price - paid)
    assert Execution.objects.get(id=execution.id).attempts == 1


# --- an API flood through the socket -----------------------------------------------------------------------------

FLOODER = """
import bp, collections, json, threading, time
counts = collections.Counter()
lock = threading.Lock()
stop = time.monotonic() + {seconds}
def hammer():
    while time.monotonic() < stop:
        try:
            bp.balance()
            status = 200
        except bp.APIError as exc:
            status = exc.status
        with lock:
            counts[status] += 1
threads = [threading.Thread(target=hammer) for _ in range(24)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(json.dumps(counts))
"""

HONEST = """
import bp, json, time
time.sleep({delay})
latencies, statuses = [], []
for _ in range({reads}):
    t0 = time.monotonic()
    try:
        bp.balance()
        statuses.append(200)
    except bp.APIError as exc:
        statuses.append(exc.status)
    latencies.append(time.monotonic() - t0)
print(json.dumps({{"latencies": latencies, "statuses": statuses}}))
"""


def test_an_api_flood_through_the_socket_leaves_others_served(warm_worker, docker_client) -> None:
    reads = 30
    honest, _ = make_program_agent(code=HONEST.format(delay=0, reads=reads))
    alone = run_through_the_tick(make_execution(agent=honest), docker_client)
    assert alone.status == Execution.Status.SUCCEEDED, alone.stderr
    baseline = json.loads(alone.stdout)

    flooder, _ = make_program_agent(code=FLOODER.format(seconds=8))
    other, _ = make_program_agent(code=HONEST.format(delay=2, reads=reads))
    bids = [place_bid(agent_id=a.id, bundle=ResourceBundle(500, 128, 20), max_price=500) for a in (flooder, other)]
    run_market_tick()
    executions = [Execution.objects.get(bid=bid) for bid in bids]
    threads = [threading.Thread(target=worker_tasks.run_execution, args=(e.id,)) for e in executions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    for e in executions:
        e.refresh_from_db()
        assert_recorded_by_the_agent(e, docker_client)
        assert e.status == Execution.Status.SUCCEEDED, (e.stdout, e.stderr)
    flood = {int(k): v for k, v in json.loads(executions[0].stdout).items()}
    served = json.loads(executions[1].stdout)

    assert not [s for s in flood if s >= 500], flood  # no server error for the flooder either
    assert flood.get(200, 0) > 0 and sum(flood.values()) > 3 * reads, flood
    assert served["statuses"] == [200] * reads  # the other agent is answered every time, never throttled
    assert baseline["statuses"] == [200] * reads
    under_flood = statistics.median(served["latencies"])
    alone_median = statistics.median(baseline["latencies"])
    ratio = under_flood / alone_median
    print(
        f"balance read: median {alone_median * 1000:.1f} ms alone, {under_flood * 1000:.1f} ms beside a flood of "
        f"{sum(flood.values())} requests ({flood}): ratio {ratio:.1f}"
    )
    assert ratio < 50, (ratio, flood)
