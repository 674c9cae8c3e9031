"""Finding 1 (free compute): whatever an agent leaves in its workspace, the worker records a result that fits.

Before: ~12,000 empty files with 250-character names made the result post exceed the API's body limit (413), the
execution stayed RUNNING, the reaper marked it LOST and refunded it, and its logs and exit code were never recorded.
"""

from __future__ import annotations

import base64
import io
import tarfile

import pytest

from economy.selectors import get_balance, ledger_violations
from sandbox import services, worker, worker_tasks
from sandbox.docker_runner import WorkspaceOverCap, _decode_workspace
from sandbox.models import Execution, Workspace
from tests.factories import make_execution, make_program_agent

MANY_LONG_NAMES = """
import os
for i in range(12000):
    open(("f%05d-" % i) + "x" * 243, "w").close()
print("made", len(os.listdir(".")), "files", flush=True)
raise SystemExit(3)
"""

INODE_FLOOD = """
import os
os.mkdir("d")
n = 0
try:
    while n < 200000:
        os.mkdir("d/%d" % n)
        n += 1
except OSError as exc:
    print("stopped", exc.errno)
print("dirs", n, flush=True)
"""


def _tar_b64(entries: dict[str, bytes | None]) -> str:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, content in entries.items():
            info = tarfile.TarInfo(name)
            if content is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
    return base64.b64encode(buf.getvalue()).decode()


def test_the_runner_decodes_a_workspace_only_within_its_entry_and_byte_caps() -> None:
    assert _decode_workspace(_tar_b64({"a.txt": b"1", "d": None, "d/b": b"22"}), 1000, 2) == {
        "a.txt": b"1",
        "d/b": b"22",
    }
    with pytest.raises(WorkspaceOverCap, match="3 files"):
        _decode_workspace(_tar_b64({f"f{i}": b"" for i in range(4)}), 10**6, 3)
    with pytest.raises(WorkspaceOverCap, match="directories"):
        _decode_workspace(_tar_b64({f"d{i}": None for i in range(4)}), 10**6, 3)
    with pytest.raises(WorkspaceOverCap, match="names included"):  # empty files: only their names count
        _decode_workspace(_tar_b64({f"{i:03d}" + "x" * 200: b"" for i in range(10)}), 1000, 100)


def test_a_result_too_large_for_the_api_is_reduced_to_fit() -> None:
    body = {
        "attempt": 1,
        "status": "FAILED",
        "exit_code": 3,
        "stdout": "o" * 50_000,
        "stderr": "e" * 50_000,
        "error": "",
        "files": {f"f{i}": "" for i in range(20_000)},
        "workspace_too_large": False,
    }
    fitted = worker.fit_result(body, 150_000)
    assert worker._body_size(fitted) <= 150_000
    assert fitted["files"] is None and fitted["workspace_too_large"] is True
    assert (fitted["status"], fitted["exit_code"], fitted["stdout"]) == ("FAILED", 3, "o" * 50_000)
    assert "the workspace was not saved" in fitted["error"]
    tighter = worker.fit_result(body, 20_000)
    assert worker._body_size(tighter) <= 20_000 and tighter["stdout_truncated"] and tighter["exit_code"] == 3
    assert worker.fit_result({"status": "SUCCEEDED", "files": None}, 1000) == {"status": "SUCCEEDED", "files": None}


@pytest.mark.django_db(transaction=True)
def test_a_result_taken_at_once_records_the_end_of_the_run_without_a_heartbeat(live_worker) -> None:
    agent, _ = make_program_agent()
    execution = make_execution(agent=agent)
    api = worker.WorkerAPI(worker_tasks.worker_config())
    spec = api.post(f"/sandbox/executions/{execution.id}/claim", {})
    body = {"attempt": spec["attempt"], "status": "SUCCEEDED", "exit_code": 0, "stdout": "", "stderr": ""}
    called = []
    assert worker._post_result(api, execution.id, body, run_ended=lambda: called.append(1)) == "SUCCEEDED"
    assert called == []
    execution.refresh_from_db()
    assert execution.run_ended_at is not None and execution.run_ended_at == execution.finished_at


@pytest.mark.django_db(transaction=True)
def test_a_result_the_api_refuses_as_too_large_is_posted_again_reduced(live_worker, settings) -> None:
    """Even if the worker misjudges the limit (say the API's is lower than the spec said), a 413 is not the end."""
    agent, _ = make_program_agent()
    execution = make_execution(agent=agent)
    config = worker_tasks.worker_config()
    api = worker.WorkerAPI(config)
    spec = api.post(f"/sandbox/executions/{execution.id}/claim", {})
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 50_000
    body = {
        "attempt": spec["attempt"],
        "status": "SUCCEEDED",
        "exit_code": 0,
        "stdout": "hello\n" * 20_000,
        "stderr": "",
        "files": {"big.bin": base64.b64encode(b"x" * 60_000).decode()},
    }
    said = []

    def run_ended() -> None:  # the first post failed: the worker says the run is over before trying again
        said.append(Execution.objects.get(id=execution.id).status)
        worker._report_run_ended(api, execution.id, spec["attempt"])

    assert worker._post_result(api, execution.id, body, run_ended=run_ended) == "SUCCEEDED"
    assert said == [Execution.Status.RUNNING]
    execution.refresh_from_db()
    assert execution.run_ended_at is not None and execution.run_ended_at < execution.finished_at
    assert execution.status == Execution.Status.SUCCEEDED and execution.exit_code == 0
    assert execution.stdout.startswith("hello\n") and execution.stdout_truncated
    assert execution.workspace_outcome == Execution.WorkspaceOutcome.TOO_LARGE
    assert "413 payload_too_large" in execution.error
    api.close()


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("code", "exit_code", "says"),
    [(MANY_LONG_NAMES, 3, "made 12001 files"), (INODE_FLOOD, 0, "dirs ")],
    ids=["12000-long-names", "inode-flood"],
)
def test_a_workspace_flood_is_recorded_with_logs_and_exit_code_and_not_refunded(
    live_worker, docker_client, code, exit_code, says
) -> None:
    agent, _ = make_program_agent(code=code)
    execution = make_execution(agent=agent, memory_mb=1024, wall_seconds=60)
    paid = execution.bid.price
    balance = get_balance(agent_id=agent.id)
    program = Workspace.objects.get(agent=agent).files

    status = worker_tasks.run_execution(execution.id)

    execution.refresh_from_db()
    assert status == execution.status, (status, execution.error, execution.stderr)
    assert execution.status in (Execution.Status.SUCCEEDED, Execution.Status.FAILED)
    assert execution.exit_code == exit_code and says in execution.stdout, (execution.stdout, execution.stderr)
    assert execution.workspace_outcome == Execution.WorkspaceOutcome.TOO_LARGE
    assert "workspace over the cap" in execution.error
    assert execution.run_ended_at is not None and execution.refunded == 0
    assert Workspace.objects.get(agent=agent).files == program  # the previous workspace is kept
    assert services.reap_lost_executions() == []
    assert get_balance(agent_id=agent.id) == balance and paid > 0
    assert ledger_violations() == []
