"""A small threaded Unix-socket -> TCP forwarder: the sandbox's only way to the API.

The container runs with ``network_mode="none"``; the worker serves one of these per execution on a socket in a
directory bind-mounted into the container, relaying bytes to the API's TCP address. No Django imports.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import socket
import threading

__all__ = ["UnixSocketProxy"]

_BUFSIZE = 65536


class UnixSocketProxy:
    """Listen on ``socket_path`` (mode 0666) and relay each connection to ``(target_host, target_port)``.

    At most ``max_connections`` live connections (further ones are closed at once); a connection idle for
    ``idle_timeout`` seconds is dropped. ``stop()`` closes the listener and every live connection and joins the
    threads. Usable as a context manager.
    """

    def __init__(
        self,
        socket_path: str,
        target_host: str,
        target_port: int,
        *,
        max_connections: int = 16,
        idle_timeout: float = 300.0,
        connect_timeout: float = 5.0,
    ) -> None:
        self.socket_path = socket_path
        self.target = (target_host, int(target_port))
        self.max_connections = max_connections
        self.idle_timeout = idle_timeout
        self.connect_timeout = connect_timeout
        self._listener: socket.socket | None = None
        self._accept_thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._wake_r, self._wake_w = -1, -1
        self._lock = threading.Lock()
        self._conns: dict[threading.Thread, tuple[socket.socket, ...]] = {}
        # Every connection thread not yet joined: a thread leaves _conns before it has finished closing its sockets.
        self._threads: set[threading.Thread] = set()
        self.accepted = 0
        self.rejected = 0

    # --- lifecycle -----------------------------------------------------------------------------------------------

    def start(self) -> UnixSocketProxy:
        if self._listener is not None:
            raise RuntimeError("proxy already started")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.socket_path)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(self.socket_path)
            os.chmod(self.socket_path, 0o666)  # noqa: S103 - uid 1000 in the container connects
            listener.listen(self.max_connections)
            listener.setblocking(False)
        except BaseException:
            listener.close()
            raise
        self._wake_r, self._wake_w = os.pipe()
        self._listener = listener
        self._stopping.clear()
        self._accept_thread = threading.Thread(target=self._accept_loop, name="bp-proxy-accept", daemon=True)
        self._accept_thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        if self._listener is None:
            return
        self._stopping.set()
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")  # never read: stays readable and wakes every selector
        if self._accept_thread is not None:
            self._accept_thread.join(timeout)
        with self._lock:
            threads = list(self._threads)
            for socks in self._conns.values():
                for sock in socks:
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)
        for thread in threads:
            thread.join(timeout)
        with self._lock:
            self._threads.difference_update(t for t in threads if not t.is_alive())
        self._listener.close()
        self._listener = None
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.socket_path)
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._wake_r, self._wake_w = -1, -1

    def __enter__(self) -> UnixSocketProxy:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def live_connections(self) -> int:
        with self._lock:
            return len(self._conns)

    # --- threads -------------------------------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        assert self._listener is not None
        with selectors.DefaultSelector() as sel:
            sel.register(self._listener, selectors.EVENT_READ)
            sel.register(self._wake_r, selectors.EVENT_READ)
            while not self._stopping.is_set():
                for key, _ in sel.select():
                    if key.fileobj is not self._listener or self._stopping.is_set():
                        continue
                    try:
                        client, _addr = self._listener.accept()
                    except (BlockingIOError, InterruptedError):
                        continue
                    except OSError:
                        return
                    self._admit(client)

    def _admit(self, client: socket.socket) -> None:
        with self._lock:
            if len(self._conns) >= self.max_connections:
                self.rejected += 1
                client.close()
                return
            self.accepted += 1
            thread = threading.Thread(target=self._serve, args=(client,), name="bp-proxy-conn", daemon=True)
            self._conns[thread] = (client,)
            self._threads = {t for t in self._threads if t.is_alive()}
            self._threads.add(thread)
        thread.start()

    def _serve(self, client: socket.socket) -> None:
        me = threading.current_thread()
        upstream: socket.socket | None = None
        try:
            try:
                upstream = socket.create_connection(self.target, timeout=self.connect_timeout)
            except OSError:
                return
            with self._lock:
                self._conns[me] = (client, upstream)
            if self._stopping.is_set():
                return
            self._relay(client, upstream)
        finally:
            with self._lock:
                self._conns.pop(me, None)
            for sock in (client, upstream):
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.close()

    def _relay(self, client: socket.socket, upstream: socket.socket) -> None:
        peer = {client: upstream, upstream: client}
        for sock in peer:
            sock.settimeout(self.idle_timeout)  # bounds a blocked sendall too
        with selectors.DefaultSelector() as sel:
            sel.register(client, selectors.EVENT_READ)
            sel.register(upstream, selectors.EVENT_READ)
            sel.register(self._wake_r, selectors.EVENT_READ)
            open_reads = 2
            while open_reads and not self._stopping.is_set():
                events = sel.select(self.idle_timeout)
                if not events:
                    return  # idle
                for key, _ in events:
                    src = key.fileobj
                    if not isinstance(src, socket.socket):
                        return  # woken by stop()
                    try:
                        data = src.recv(_BUFSIZE)
                    except OSError:
                        return
                    dst = peer[src]
                    if not data:
                        sel.unregister(src)
                        open_reads -= 1
                        with contextlib.suppress(OSError):
                            dst.shutdown(socket.SHUT_WR)
                        continue
                    try:
                        dst.sendall(data)
                    except OSError:
                        return
