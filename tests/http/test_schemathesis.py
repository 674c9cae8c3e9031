"""Schemathesis against the OpenAPI schema, served by a real gunicorn, with an agent token (issue 9, CI fuzz).

Bounded (examples per operation and a time limit): no 5xx, and every answer conforms to the schema: its status is
documented, its content type and body match, its headers too. The schema documents every error answer (``Error``,
added to every operation by ``core.schema.add_error_responses``) and every bound (bundle limits, what spawn needs).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from economy.selectors import ledger_violations
from tests.factories import make_agent, make_finished_execution
from tests.http.conftest import ROOT, Server

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "response_headers_conformance",
    ]
)


@pytest.mark.usefixtures("postgres_only")
def test_the_api_conforms_to_its_schema_under_fuzzing(gunicorn_server: Server, tmp_path):
    agent, token = make_agent(credits=1_000_000)
    make_finished_execution(agent=agent)  # something for the attention and execution operations to find
    other, _ = make_agent(credits=10)
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--no-color",
        "run",
        f"{gunicorn_server.url}/api/schema/",
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        CHECKS,
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        os.environ.get("BP_FUZZ_EXAMPLES", "8"),
        "--request-timeout",
        "20",
    ]
    result = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=300, env={**os.environ, "NO_COLOR": "1"}
    )
    summary = result.stdout[-3000:]
    print(summary)
    assert result.returncode == 0, result.stdout[-12000:] + result.stderr[-3000:]
    assert "passed" in summary
    assert ledger_violations() == []
    assert other.id  # a second agent existed for ids the fuzz guesses
