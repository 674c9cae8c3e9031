"""bp runtime wrapper: the agent container's command (PID 1 in the container, uid 1000).

1. Makes itself non-dumpable (prctl PR_SET_DUMPABLE 0), so the agent, running under the same uid, cannot open
   /proc/<wrapper>/fd/* (the container's log pipes) or /proc/<wrapper>/environ.
   In a warm-pool container (``BP_POOL=1``) it then starts the agent's process ahead of the go (step 3, as
   ``python3 -u /opt/bp/run.py --agent``: a fresh interpreter that imports the ``bp`` SDK and waits on its stdin) and
   waits itself: it connects to the worker's control socket /run/bp/ctl.sock, says ``ready``, and blocks until the
   worker sends the execution's environment (one JSON object, then end of stream: "go"). The worker staged /seed and
   set the container's limits before that. End of stream without a go (the worker's pool closed or its process died)
   ends the wrapper and the waiting process at once, with no report.
2. Copies /seed (read-only bind mount of the staged workspace) into /workspace (size-capped tmpfs).
3. Runs ``python3 -u /workspace/agent.py`` in its own session (cwd /workspace, same environment), stdout/stderr
   piped; keeps at most BP_LOG_CAP bytes of each (default 65536) and drains and discards the rest. In a warm-pool
   container the waiting process gets the environment on its stdin (then /dev/null) and runs agent.py as python3
   would (:func:`run_agent`): no interpreter start on the way.
4. On SIGTERM (wall time over) kills the agent's process group and every other process in the container.
5. Prints exactly one line to its own stdout, a JSON object::

       {"bp_result": 1, "exit_code": int, "stdout": str, "stderr": str, "stdout_truncated": bool,
        "stderr_truncated": bool, "terminated": bool, "oom_kills": int | null, "duration_ms": int,
        "marks": {step: CLOCK_MONOTONIC seconds}, "workspace": <base64 of a tar.gz of /workspace> | null}

   (workspace is null when the wrapper was terminated, or when /workspace holds more than BP_WORKSPACE_MAX_FILES
   files (or as many directories) or more than BP_WORKSPACE_MAX_BYTES bytes of contents and names together; then
   ``"workspace_error"`` says why: counting stops at the first entry over a cap, so an inode flood costs little) and
   exits with the agent's exit code (128+signal if the agent died from a signal).

Standard library only; it runs on the image's python3.
"""

from __future__ import annotations

import atexit
import base64
import builtins
import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import sys
import tarfile
import threading
import time
import traceback
import types
from typing import BinaryIO

SEED = "/seed"
CONTROL_SOCKET = "/run/bp/ctl.sock"
WORKSPACE = "/workspace"
ENTRY = "agent.py"
PR_SET_DUMPABLE = 4
SETUP_FAILED = 125  # exit code when the wrapper could not start the agent at all
CHUNK = 65536


def log(message: str) -> None:
    """Diagnostics of the wrapper itself go to its stderr (the container's stderr log)."""
    with contextlib.suppress(OSError):
        os.write(2, f"bp-runtime: {message}\n".encode("utf-8", "replace"))


def set_dumpable(flag: int) -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_DUMPABLE, flag, 0, 0, 0) == 0:
            return True
        log(f"prctl(PR_SET_DUMPABLE, {flag}) failed: errno {ctypes.get_errno()}")
    except (OSError, AttributeError) as exc:
        log(f"prctl unavailable: {exc}")
    return False


def read_oom_kills() -> int | None:
    """The container cgroup's oom_kill counter (cgroup v2 memory.events, or v1 memory.oom_control)."""
    for path in ("/sys/fs/cgroup/memory.events", "/sys/fs/cgroup/memory/memory.oom_control"):
        try:
            with open(path) as fh:
                for line in fh:
                    key, _, value = line.partition(" ")
                    if key == "oom_kill":
                        return int(value)
        except (OSError, ValueError):
            continue
    return None


class Capture(threading.Thread):
    """Drain one pipe to EOF, keeping the first ``cap`` bytes."""

    def __init__(self, fd: int, cap: int) -> None:
        super().__init__(daemon=True)
        self.fd = fd
        self.cap = cap
        self.data = bytearray()
        self.truncated = False

    def run(self) -> None:
        try:
            while True:
                try:
                    chunk = os.read(self.fd, CHUNK)
                except InterruptedError:
                    continue
                except OSError:
                    break
                if not chunk:
                    break
                room = self.cap - len(self.data)
                if room > 0:
                    self.data += chunk[:room]
                if len(chunk) > room:
                    self.truncated = True
        finally:
            with contextlib.suppress(OSError):
                os.close(self.fd)

    def text(self) -> str:
        return bytes(self.data).decode("utf-8", "replace")


class Base64Writer:
    """A write-only file object that base64-encodes into ``out`` as data streams through (constant memory)."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.pending = b""

    def write(self, data: bytes) -> int:
        buf = self.pending + bytes(data)
        cut = len(buf) - len(buf) % 3
        if cut:
            self.out.write(base64.b64encode(buf[:cut]))
        self.pending = buf[cut:]
        return len(data)

    def flush(self) -> None:
        self.out.flush()

    def finish(self) -> None:
        if self.pending:
            self.out.write(base64.b64encode(self.pending))
            self.pending = b""


def workspace_over_caps(max_files: int, max_bytes: int) -> str | None:
    """Why /workspace may not be returned (None when it fits): more than ``max_files`` files or directories, or
    more than ``max_bytes`` bytes of contents and names (relative paths) together. Stops at the first entry over."""
    files = dirs = total = 0
    stack = [WORKSPACE]
    while stack:
        top = stack.pop()
        try:
            entries = os.scandir(top)
        except OSError:
            continue
        with entries:
            for entry in entries:
                total += len(os.path.relpath(entry.path, WORKSPACE).encode("utf-8", "surrogateescape"))
                try:
                    if entry.is_dir(follow_symlinks=False):
                        dirs += 1
                        stack.append(entry.path)
                    else:
                        files += 1
                        if entry.is_file(follow_symlinks=False):
                            total += entry.stat(follow_symlinks=False).st_size
                except OSError:
                    continue
                if files > max_files:
                    return f"workspace over the cap of {max_files} files"
                if dirs > max_files:
                    return f"workspace over the cap of {max_files} directories"
                if total > max_bytes:
                    return f"workspace over the cap of {max_bytes} bytes (names included)"
    return None


def write_workspace_tar(out: BinaryIO) -> None:
    """Stream /workspace as base64(tar.gz) into ``out``; unreadable entries are skipped."""
    writer = Base64Writer(out)
    with tarfile.open(fileobj=writer, mode="w|gz") as tar:  # type: ignore[call-overload]
        for root, dirs, files in os.walk(WORKSPACE):
            dirs.sort()
            for name in sorted(dirs) + sorted(files):
                path = os.path.join(root, name)
                arcname = os.path.relpath(path, WORKSPACE)
                try:
                    tar.add(path, arcname=arcname, recursive=False)
                except OSError as exc:
                    log(f"workspace: skipped {arcname}: {exc}")
    writer.finish()


class Wrapper:
    def __init__(self) -> None:
        self.configure()
        self.agent_pid: int | None = None
        self.terminated = False
        # CLOCK_MONOTONIC instants (shared with the host: no time namespace) of the run's steps, for the report.
        self.marks: dict[str, float] = {}
        self.zygote: tuple[int, Capture, Capture, int] | None = None  # a started agent process waiting for its go

    def configure(self) -> None:
        """Read the caps from the environment (a warm-pool container learns them with its go)."""
        self.cap = max(0, int(os.environ.get("BP_LOG_CAP") or 65536))
        self.max_files = max(0, int(os.environ.get("BP_WORKSPACE_MAX_FILES") or 256))
        self.max_bytes = max(0, int(os.environ.get("BP_WORKSPACE_MAX_BYTES") or 512 * 1024))

    # --- signals ---------------------------------------------------------------------------------------------

    def on_signal(self, signum: int, _frame: object) -> None:
        self.terminated = True
        self.kill_all()

    def kill_all(self) -> None:
        if self.agent_pid is not None:
            with contextlib.suppress(OSError):
                os.killpg(self.agent_pid, signal.SIGKILL)
        if os.getpid() == 1:
            # As PID 1 of the container's PID namespace: every process we may signal is the agent's
            # (kill(-1) spares the caller), including ones that left the agent's session.
            with contextlib.suppress(OSError):
                os.kill(-1, signal.SIGKILL)

    # --- agent -----------------------------------------------------------------------------------------------

    def seed_workspace(self) -> None:
        if os.path.isdir(SEED):
            shutil.copytree(SEED, WORKSPACE, dirs_exist_ok=True, copy_function=shutil.copyfile)

    def spawn(self, *, zygote: bool = False) -> tuple[int, Capture, Capture]:
        """Start the agent's process: ``python3 -u /workspace/agent.py``, or with ``zygote`` (a warm-pool container,
        before its go) ``python3 -u /opt/bp/run.py --agent``, which imports the SDK and waits on its stdin for the
        environment (:meth:`release_zygote`), then runs agent.py in that interpreter (:func:`agent_main`)."""
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        go_r, go_w = os.pipe() if zygote else (-1, -1)
        argv = [sys.executable or "python3", "-u"]
        argv += [os.path.abspath(__file__), "--agent"] if zygote else [os.path.join(WORKSPACE, ENTRY)]
        env = dict(os.environ)
        # The readers start before the agent exists: a fork bomb can take every pid of the container at once, and
        # a thread started after it could not be (the run would end in "can't start new thread").
        stdout, stderr = Capture(out_r, self.cap), Capture(err_r, self.cap)
        stdout.start()
        stderr.start()
        try:
            pid = os.fork()
        except OSError:
            for fd in (out_w, err_w, go_r, go_w):  # the readers see the end of their pipes
                if fd >= 0:
                    os.close(fd)
            raise
        if pid == 0:  # child: never returns
            try:
                os.setsid()
                stdin = go_r if zygote else os.open(os.devnull, os.O_RDONLY)
                os.dup2(stdin, 0)
                os.dup2(out_w, 1)
                os.dup2(err_w, 2)
                os.closerange(3, 65536)
                for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGPIPE, signal.SIGXFSZ):
                    signal.signal(sig, signal.SIG_DFL)
                # The agent (and its children) go first when the memory limit is hit. A non-dumpable process's
                # /proc entries belong to root, so become dumpable again first (execve would reset it anyway).
                set_dumpable(1)
                with contextlib.suppress(OSError), open("/proc/self/oom_score_adj", "w") as fh:
                    fh.write("1000")
                os.chdir(WORKSPACE)
                os.execve(argv[0], argv, env)  # noqa: S606 - exact argv, no shell wanted
            finally:  # the forked child must never return into the wrapper
                os._exit(127)
        os.close(out_w)
        os.close(err_w)
        if zygote:
            os.close(go_r)
            self.zygote = (pid, stdout, stderr, go_w)
        return pid, stdout, stderr

    def release_zygote(self) -> tuple[int, Capture, Capture]:
        """Send the waiting agent process its environment (the wrapper's, now the execution's) and let it run."""
        assert self.zygote is not None
        pid, stdout, stderr, go_w = self.zygote
        self.zygote = None
        stdout.cap = stderr.cap = self.cap  # the log cap came with the go
        try:
            with os.fdopen(go_w, "wb") as go:
                go.write(json.dumps(dict(os.environ)).encode())
        except OSError:
            pass  # it is gone already: its exit status tells
        return pid, stdout, stderr

    def wait_agent(self, pid: int) -> int:
        """Reap children (orphans included, we are init) until the agent exits; return its wait status."""
        while True:
            try:
                reaped, status = os.waitpid(-1, 0)
            except ChildProcessError:  # cannot happen: the agent is our child; report a failure anyway
                return 255 << 8
            if reaped == pid:
                return status

    def reap_rest(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            try:
                reaped, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if reaped == 0:
                time.sleep(0.01)

    # --- main ------------------------------------------------------------------------------------------------

    def run(self) -> int:
        set_dumpable(0)
        signal.signal(signal.SIGTERM, self.on_signal)
        signal.signal(signal.SIGINT, self.on_signal)
        oom_before = read_oom_kills()
        started = time.monotonic()
        stdout = Capture(-1, self.cap)
        stderr = Capture(-1, self.cap)
        exit_code = SETUP_FAILED
        self.marks["start"] = started
        try:
            self.seed_workspace()
            self.marks["seeded"] = time.monotonic()
        except OSError as exc:
            stderr.data += f"bp-runtime: could not stage the workspace: {exc}\n".encode()[: self.cap]
        else:
            if not self.terminated:
                try:
                    pid, stdout, stderr = self.release_zygote() if self.zygote else self.spawn()
                except OSError as exc:
                    stderr.data += f"bp-runtime: could not start the agent: {exc}\n".encode()[: self.cap]
                    return self.finish(exit_code, stdout, stderr, oom_before, started)
                self.agent_pid = pid
                self.marks["spawned"] = time.monotonic()
                if self.terminated:  # SIGTERM raced with the spawn
                    self.kill_all()
                status = self.wait_agent(pid)
                self.marks["exited"] = time.monotonic()
                exit_code = os.waitstatus_to_exitcode(status)
                if exit_code < 0:
                    exit_code = 128 - exit_code
                # Nothing of the agent's may outlive it (daemonised children would hold the pipes open).
                self.kill_all()
                self.reap_rest(time.monotonic() + 2)
                stdout.join(2)
                stderr.join(2)
                self.marks["reaped"] = time.monotonic()
        return self.finish(exit_code, stdout, stderr, oom_before, started)

    def finish(self, exit_code: int, stdout: Capture, stderr: Capture, oom_before: int | None, started: float) -> int:
        duration_ms = int((time.monotonic() - started) * 1000)
        oom_after = read_oom_kills()
        oom_kills = None if oom_before is None or oom_after is None else oom_after - oom_before
        self.report(exit_code, stdout, stderr, oom_kills, duration_ms)
        return exit_code

    def report(self, exit_code: int, stdout: Capture, stderr: Capture, oom_kills: int | None, ms: int) -> None:
        result = {
            "bp_result": 1,
            "exit_code": exit_code,
            "stdout": stdout.text(),
            "stderr": stderr.text(),
            "stdout_truncated": stdout.truncated,
            "stderr_truncated": stderr.truncated,
            "terminated": self.terminated,
            "oom_kills": oom_kills,
            "duration_ms": ms,
            "marks": self.marks,
        }
        head = json.dumps(result, ensure_ascii=True)[:-1]  # drop the closing brace, the workspace follows
        out = sys.stdout.buffer
        out.write(head.encode("ascii"))
        over = None if self.terminated else workspace_over_caps(self.max_files, self.max_bytes)
        if self.terminated:
            out.write(b', "workspace": null}\n')
        elif over:
            out.write(b', "workspace": null, "workspace_error": ' + json.dumps(over).encode("ascii") + b"}\n")
        else:
            out.write(b', "workspace": "')
            try:
                write_workspace_tar(out)
            except Exception as exc:  # the line must still end; the runner treats bad base64 as no workspace
                log(f"workspace archive failed: {exc}")
            out.write(b'"}\n')
        out.flush()


def _exit_status(code: object) -> int:
    """The exit status of ``SystemExit(code)`` as the interpreter computes it (a message goes to stderr, then 1)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    with contextlib.suppress(Exception):
        print(code, file=sys.stderr)
    return 1


def run_agent(path: str) -> int:
    """``python3 -u path`` in this interpreter (the agent's own, started before the go, ``bp`` imported already):
    the script runs as ``__main__`` with ``sys.argv == [path]`` and its directory first on ``sys.path``; then, as at
    interpreter exit, non-daemon threads are joined, atexit functions run and the streams are flushed. Returns the
    exit status (an uncaught KeyboardInterrupt ends the process by SIGINT, as python3 does)."""
    main = types.ModuleType("__main__")
    main.__file__ = path
    main.__cached__ = None  # type: ignore[attr-defined]
    main.__builtins__ = builtins  # type: ignore[attr-defined]
    sys.modules["__main__"] = main
    sys.argv[:] = [path]
    sys.path[0] = os.path.dirname(path)
    status = 0
    try:
        with open(path, "rb") as fh:
            source = fh.read()
        exec(compile(source, path, "exec"), main.__dict__)  # noqa: S102 - running the agent is the point
    except SystemExit as exc:
        status = _exit_status(exc.code)
    except KeyboardInterrupt:
        traceback.print_exc()
        status = -signal.SIGINT
    except BaseException:
        sys.excepthook(*sys.exc_info())
        status = 1
    try:
        for thread in threading.enumerate():
            if thread is not threading.main_thread() and not thread.daemon:
                thread.join()
        atexit._run_exitfuncs()
    except SystemExit as exc:
        status = _exit_status(exc.code)
    except BaseException:
        sys.excepthook(*sys.exc_info())
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    if status == -signal.SIGINT:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    return status


def agent_main() -> int:
    """``run.py --agent``: the agent's own process in a warm-pool container, started before the go (its interpreter
    and the SDK ready). Reads the execution's environment from stdin (the wrapper writes it at the go, then closes),
    then runs /workspace/agent.py here. End of stream without one (the container was abandoned): exit quietly."""
    with contextlib.suppress(Exception):
        import bp  # noqa: F401 - warm: the agent finds the SDK imported
    data = bytearray()
    while True:
        try:
            chunk = os.read(0, CHUNK)
        except InterruptedError:
            continue
        if not chunk:
            break
        data += chunk
    if not data:
        return 0
    env = json.loads(bytes(data))
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.environ.clear()
    os.environ.update(env)
    os._exit(run_agent(os.path.join(WORKSPACE, ENTRY)))  # what interpreter exit does is done


def await_go(path: str = CONTROL_SOCKET, connect_seconds: float = 30.0) -> dict[str, str] | None:
    """Warm-pool mode: tell the worker we are ready and block until it sends the execution's environment.

    Returns that environment, or None when the worker hung up without a go (the container is then abandoned)."""
    deadline = time.monotonic() + connect_seconds
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(path)
            break
        except OSError:
            sock.close()
            if time.monotonic() > deadline:
                return None
            time.sleep(0.05)
    with sock:
        sock.sendall(b"ready\n")
        data = bytearray()
        while True:
            try:
                chunk = sock.recv(CHUNK)
            except InterruptedError:
                continue
            except OSError:
                return None
            if not chunk:
                break
            data += chunk
    try:
        go = json.loads(bytes(data))
    except ValueError:
        return None
    env = go.get("env") if isinstance(go, dict) else None
    if not isinstance(env, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
        return None
    return env


def main() -> int:
    if sys.argv[1:] == ["--agent"]:
        return agent_main()
    marks = {}
    wrapper = None
    if os.environ.pop("BP_POOL", "") == "1":
        set_dumpable(0)  # before the token arrives
        wrapper = Wrapper()
        with contextlib.suppress(OSError):  # else it starts at the go, as in a cold container
            wrapper.spawn(zygote=True)
        env = await_go()
        if env is None:
            wrapper.kill_all()
            return 0
        marks["go"] = time.monotonic()
        os.environ.update(env)
        wrapper.configure()
    wrapper = wrapper or Wrapper()
    wrapper.marks.update(marks)
    return wrapper.run()


if __name__ == "__main__":
    sys.exit(main())
