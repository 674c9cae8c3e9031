"""An in-process cache of live agent tokens for reads, kept true by PostgreSQL notifications.

Every request of an agent looks its token up; on a read that lookup was one of the request's two statements. Each
web process keeps the rows it looked up (token and agent) for ``BP_AUTH_CACHE_SECONDS`` and forgets one as soon as
the database says it changed:

- triggers on ``economy_agenttoken`` and ``economy_agent`` (migration ``0010``) ``pg_notify('bp_auth', ...)`` on
  every update or delete of a token (revoked, expired early, rotated) or an agent (death), delivered at commit;
- a daemon thread per process LISTENs on its own connection and evicts the token, or every token of the agent;
- the cache is used only while that thread is listening: before it has connected, after it lost its connection
  (it reconnects with backoff, and starts empty), and in another process after a fork, lookups go to the database;
- a lookup that raced a notification (read before the change committed, stored after its notification) is not
  stored: every notification bumps a generation the lookup read before it queried.

The process that revokes also evicts at once, at commit (``evict_tokens``). Writes never use the cache (the caller
decides: ``economy.auth``), nor does a lookup inside a transaction, whose own uncommitted changes no notification
reports. The cache is off on SQLite and with ``BP_AUTH_CACHE_SECONDS=0``; it holds at most ``MAX_ENTRIES`` rows and
starts over when full (every execution has a token of its own).
"""

from __future__ import annotations

import logging
import os
import threading
import time

import psycopg
from django.conf import settings
from django.db import connection

CHANNEL = "bp_auth"
APPLICATION_NAME = "bp-token-cache"  # the listener's sessions in pg_stat_activity
PING_SECONDS = 10  # the listener checks its connection this often when nothing arrives
MAX_ENTRIES = 10_000  # tokens remembered per process; the cache starts over when full (every execution has its own)

log = logging.getLogger(__name__)


class TokenCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, int, tuple]] = {}  # key hash -> (stored at, agent id, row)
        self._by_agent: dict[int, set[str]] = {}
        self.generation = 0
        self.listening = False
        self.listener_pid: int | None = None  # the listener connection's server process (tests terminate it)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._pid = 0

    # --- the request side ------------------------------------------------------------------------------------
    def usable(self) -> bool:
        """Whether a lookup on the default connection may use the cache now (starts the listener if needed)."""
        ttl = settings.BP_AUTH_CACHE_SECONDS
        if ttl <= 0 or connection.vendor != "postgresql" or connection.in_atomic_block:
            return False
        if self._pid != os.getpid():
            self._start()
        return self.listening

    def get(self, key_hash: str) -> tuple | None:
        entry = self._entries.get(key_hash)
        if entry is None or time.monotonic() - entry[0] > settings.BP_AUTH_CACHE_SECONDS:
            return None
        return entry[2]

    def put(self, key_hash: str, agent_id: int, row: tuple, generation: int) -> None:
        """Store ``row``, read after ``generation`` was current, unless a notification came since."""
        with self._lock:
            if generation != self.generation or not self.listening:
                return
            if len(self._entries) >= MAX_ENTRIES:  # expired rows are only ever dropped here or by a notification
                self._entries.clear()
                self._by_agent.clear()
            self._entries[key_hash] = (time.monotonic(), agent_id, row)
            self._by_agent.setdefault(agent_id, set()).add(key_hash)

    # --- eviction ----------------------------------------------------------------------------------------------
    def evict_tokens(self, key_hashes) -> None:
        with self._lock:
            self.generation += 1
            for key_hash in key_hashes:
                entry = self._entries.pop(key_hash, None)
                if entry is not None:
                    self._by_agent.get(entry[1], set()).discard(key_hash)

    def evict_agent(self, agent_id: int) -> None:
        with self._lock:
            self.generation += 1
            for key_hash in self._by_agent.pop(agent_id, ()):
                self._entries.pop(key_hash, None)

    def clear(self) -> None:
        with self._lock:
            self.generation += 1
            self._entries.clear()
            self._by_agent.clear()

    def _notified(self, payload: str) -> None:
        kind, _, value = payload.partition(":")
        if kind == "token":
            self.evict_tokens([value])
        elif kind == "agent" and value.isdigit():
            self.evict_agent(int(value))
        else:
            self.clear()

    # --- the listener ------------------------------------------------------------------------------------------
    def _start(self) -> None:
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()  # a forked child starts its own listener; the parent's state is not its own
            self.listening = False
            self.generation += 1
            self._entries.clear()
            self._by_agent.clear()
            params = connection.get_connection_params()
            self._stop = threading.Event()
            self._thread = threading.Thread(
                target=self._listen, args=(params, self._stop), name="bp-token-cache", daemon=True
            )
            self._thread.start()

    def _listen(self, params: dict, stop: threading.Event) -> None:
        backoff = 0.5
        while not stop.is_set():
            try:
                with psycopg.connect(**{**params, "autocommit": True, "application_name": APPLICATION_NAME}) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.listener_pid = conn.info.backend_pid  # the server process of this process's listener
                    self.clear()  # whatever changed while nobody listened
                    self.listening = True
                    backoff = 0.5
                    pinged = time.monotonic()
                    while not stop.is_set():
                        for note in conn.notifies(timeout=1.0):
                            self._notified(note.payload)
                        if time.monotonic() - pinged > PING_SECONDS:
                            conn.execute("SELECT 1")  # a dead connection raises here at the latest
                            pinged = time.monotonic()
            except Exception:  # any failure: stop using the cache, reconnect
                log.warning("token cache: the notification listener lost its connection; reconnecting", exc_info=True)
            finally:
                self.listening = False
                self.clear()
            stop.wait(backoff)
            backoff = min(backoff * 2, 30.0)

    def stop(self) -> None:
        """Stop this process's listener and close its connection (the next lookup that may use the cache starts a
        new one); test sessions call it before their database is dropped."""
        with self._lock:
            thread, self._thread, self._pid = self._thread, None, 0
            self._stop.set()
        if thread is not None:
            thread.join(5)


token_cache = TokenCache()
