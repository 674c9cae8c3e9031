"""How a sandbox worker starts (finding 3), and which processes load the Docker side (the sandbox.tasks split)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from market.models import WorkerHost
from tests.factories import make_worker

ROOT = Path(__file__).resolve().parents[2]
UNREACHABLE_BROKER = "redis://127.0.0.1:1/0"  # the worker must give up before it ever needs the broker


def start_sandbox_worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    command = [
        sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "sandbox", "--concurrency", "1",
        "--loglevel", "INFO", "--without-mingle", "--without-gossip", "-n", "refused@%h",
    ]  # fmt: skip
    with log.open("ab") as out:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("token", ["bpw_not-a-real-token", ""], ids=["refused", "missing"])
def test_a_sandbox_worker_whose_token_is_refused_does_not_start(live_server, tmp_path, token) -> None:
    make_worker(name="a-real-host")
    env = {
        **os.environ,
        "CELERY_BROKER_URL": UNREACHABLE_BROKER,
        "BP_API_URL": live_server.url,
        "BP_WORKER_TOKEN": token,
        "BP_WORKER_NAME": "",
        "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none",
        "BP_INSECURE_DEV_KEY": "1",
    }
    log = tmp_path / "worker.log"
    process = start_sandbox_worker(env, log)
    try:
        code = process.wait(60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)
        pytest.fail(f"the worker kept running with a bad token:\n{log.read_text()[-3000:]}")
    output = log.read_text(errors="replace")
    assert code == 78, output[-3000:]
    assert "This sandbox worker cannot start" in output
    assert ("refused BP_WORKER_TOKEN" if token else "BP_WORKER_TOKEN is not set") in output
    assert "ready." not in output  # it never consumed anything
    assert not WorkerHost.objects.exists()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_sandbox_worker_that_cannot_reach_the_api_gives_up_with_its_own_status(tmp_path) -> None:
    _, raw = make_worker()
    env = {
        **os.environ,
        "CELERY_BROKER_URL": UNREACHABLE_BROKER,
        "BP_API_URL": "http://127.0.0.1:1",
        "BP_WORKER_TOKEN": raw,
        "SANDBOX_WORKER_STARTUP_WAIT_SECONDS": "1",
        "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none",
        "BP_INSECURE_DEV_KEY": "1",
    }
    log = tmp_path / "worker.log"
    started = time.monotonic()
    assert start_sandbox_worker(env, log).wait(60) == 69, log.read_text()[-3000:]
    assert "is unreachable" in log.read_text() and time.monotonic() - started < 60


WEB_PROCESS = """
import sys
import django
django.setup()
from django.urls import get_resolver
import config.urls, config.wsgi  # every view, as gunicorn loads them
get_resolver().url_patterns
from sandbox import api, services, tasks  # noqa
from config.celery import app
app.finalize()
loaded = sorted(m for m in sys.modules if m == "docker" or m.startswith("docker."))
print("docker modules:", loaded)
assert not loaded, loaded
assert "sandbox.run_execution" not in app.tasks  # published by name only
app.loader.import_default_modules()  # what a Celery worker does at start
assert "sandbox.run_execution" in app.tasks and "sandbox.reap" in app.tasks
assert app.tasks["sandbox.run_execution"].queue == "sandbox"
print("ok")
"""


def test_a_web_process_never_imports_docker_and_workers_register_the_sandbox_task() -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "BP_INSECURE_DEV_KEY": "1"}
    done = subprocess.run(
        [sys.executable, "-c", WEB_PROCESS], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "docker modules: []" in done.stdout and done.stdout.strip().endswith("ok")
