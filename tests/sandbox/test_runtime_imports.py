"""The runtime copied into every sandbox image imports only the standard library and its own ``bp`` package.

import-linter cannot see it (``sandbox/runtime`` is not a package: adding one would change the image's hash), so this
reads its sources directly; the other worker-side modules are held by the import-linter contract in pyproject.toml.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

RUNTIME = Path(__file__).resolve().parents[2] / "sandbox" / "runtime"


def _imported_top_level(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_the_runtime_imports_only_the_standard_library_and_bp():
    sources = [p for p in RUNTIME.rglob("*.py") if "rootfs" not in p.parts]
    assert {p.name for p in sources} >= {"run.py", "__init__.py"}
    outside = {
        f"{path.relative_to(RUNTIME)}: {name}"
        for path in sources
        for name in _imported_top_level(path)
        if name not in sys.stdlib_module_names and name not in {"bp", "__future__"}
    }
    assert outside == set()
