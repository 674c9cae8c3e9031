"""The agent runtime image: content-addressed tag, and build-if-missing (Dockerfile online, debootstrap offline).

No Django imports: the worker, the management command and scripts use it alike. Runnable as a script:
``python3 -m sandbox.image --print-tag`` (used by runtime/build-offline.sh) or ``python3 -m sandbox.image``
(ensure the image exists; needs the docker SDK).
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import docker

__all__ = ["ensure_runtime_image", "runtime_image_tag"]

RUNTIME_DIR = Path(__file__).resolve().parent / "runtime"
IMAGE_REPOSITORY = "bp-agent-runtime"
REGISTRY_BASE_IMAGE = "python:3.11-slim-bookworm"  # the Dockerfile's default BASE_IMAGE
REGISTRY_PROBE = ("registry-1.docker.io", 443)
BUILD_MODE_ENV = "BP_RUNTIME_BUILD"  # auto (default) | dockerfile | offline


log = logging.getLogger(__name__)


def _say(message: str) -> None:
    # INFO through logging: under Celery, text printed to stderr is re-logged as a WARNING (a false alarm).
    log.info("runtime image: %s", message)


def _runtime_files() -> list[Path]:
    return sorted(
        p
        for p in RUNTIME_DIR.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix not in {".pyc", ".pyo"}
    )


def runtime_image_tag() -> str:
    """``bp-agent-runtime:<12 hex>``: sha256 over the runtime directory (Dockerfile, SDK, wrapper, build script)."""
    digest = hashlib.sha256()
    for path in _runtime_files():
        digest.update(path.relative_to(RUNTIME_DIR).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return f"{IMAGE_REPOSITORY}:{digest.hexdigest()[:12]}"


def _image_exists(client: docker.DockerClient, tag: str) -> bool:
    import docker.errors

    try:
        client.images.get(tag)
    except docker.errors.ImageNotFound:
        return False
    return True


def _registry_reachable(client: docker.DockerClient, timeout: float = 3.0) -> bool:
    """Quick check: a configured registry mirror, or a TCP connection to Docker Hub within ``timeout``."""
    try:
        mirrors = (client.info().get("RegistryConfig") or {}).get("Mirrors") or []
    except Exception:
        mirrors = []
    if mirrors:
        return True
    try:
        with socket.create_connection(REGISTRY_PROBE, timeout=timeout):
            return True
    except OSError:
        return False


def _build_with_dockerfile(client: docker.DockerClient, tag: str) -> None:
    _say(f"pulling {REGISTRY_BASE_IMAGE}")
    client.images.pull(REGISTRY_BASE_IMAGE)
    _say(f"docker build {RUNTIME_DIR} -> {tag}")
    _image, logs = client.images.build(path=str(RUNTIME_DIR), tag=tag, rm=True, forcerm=True)
    for entry in logs:
        line = str(entry.get("stream", "")).rstrip() if isinstance(entry, dict) else ""
        if line:
            _say(line)


def _build_offline(tag: str) -> None:
    script = RUNTIME_DIR / "build-offline.sh"
    _say(f"{script} {tag}")
    subprocess.run(["bash", str(script), tag], check=True)


def ensure_runtime_image(client: docker.DockerClient | None = None, force: bool = False) -> str:
    """Make sure the runtime image for the current sources exists; return its tag.

    Existing tag: nothing to do (unless ``force``). Otherwise build from the Dockerfile when a registry is
    reachable (falling back to the offline build if that fails), else offline (debootstrap + docker import).
    ``BP_RUNTIME_BUILD=dockerfile|offline`` forces one way.
    """
    import docker

    client = client or docker.from_env()
    tag = runtime_image_tag()
    if not force and _image_exists(client, tag):
        _say(f"{tag} is present")
        return tag
    mode = os.environ.get(BUILD_MODE_ENV, "auto").strip().lower() or "auto"
    if mode not in {"auto", "dockerfile", "offline"}:
        raise ValueError(f"{BUILD_MODE_ENV} must be auto, dockerfile or offline, not {mode!r}")
    started = time.monotonic()
    if mode == "dockerfile" or (mode == "auto" and _registry_reachable(client)):
        try:
            _build_with_dockerfile(client, tag)
        except Exception as exc:
            if mode == "dockerfile":
                raise
            _say(f"Dockerfile build failed ({exc}); building offline")
            _build_offline(tag)
    else:
        _say("no registry reachable; building offline")
        _build_offline(tag)
    if not _image_exists(client, tag):
        raise RuntimeError(f"build finished but {tag} does not exist")
    _say(f"built {tag} in {time.monotonic() - started:.1f}s")
    return tag


def _main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    if argv[:1] == ["--print-tag"]:
        print(runtime_image_tag())
        return 0
    print(ensure_runtime_image(force="--force" in argv))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
