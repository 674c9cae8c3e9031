"""The README's distributed section runs exactly the commands that ``make stack`` runs (and tests/ops/test_stack.py
tests): each Procfile command appears verbatim in it, with a unique Celery node name."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line and not line.startswith("#"))


def distributed_section() -> str:
    readme = (ROOT / "README.md").read_text()
    start = readme.index("## Distributed mode (several machines)")
    return readme[start : readme.index("\n## ", start + 1)]


def test_every_process_of_the_stack_is_in_the_readme_as_written():
    section = distributed_section()
    blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    commands = {line.strip() for block in blocks for line in block.splitlines()}
    for name, command in procfile().items():
        assert command in commands, f"the README's distributed section lacks the {name} command: {command}"


def test_every_celery_node_has_a_name_of_its_own():
    for name, command in procfile().items():
        if " worker " in command:
            assert f"-n {name}-${{STACK_ID}}@%h" in command, command
    assert "ALLOWED_HOSTS" in distributed_section()
