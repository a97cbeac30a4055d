"""A short-lived cache of principals, keyed on the token's hash, that a revocation empties
at once in every process.

On PostgreSQL a revocation sends `pg_notify(REVOKED_CHANNEL, <token hash>)` in its own
transaction; PostgreSQL delivers it at commit to every listening session, and each process's
listener thread drops the entry. The cache serves only while that listener is connected and
has proven so within `ALIVE_S` (a heartbeat every `HEARTBEAT_S`): a listener that is down
or stuck means no cache (every request reads the token), never a revoked token that works.
Each entry also expires after `TTL_S`.

On SQLite there is no cache: one `serve` process, but the CLI revokes from another, and the
only correct check (`PRAGMA data_version`, per connection, or a generation row) is a read
of the database that costs what the token lookup itself costs there (an in-process point
lookup by a unique index).

A lookup that raced a revocation never re-fills the cache with what it read: `put` takes
the `generation` read before the lookup, and every drop, connect and disconnect moves it on.

"At once" means: a revocation in this process drops its entry before it commits; one in
another process when its notification arrives, which PostgreSQL sends at commit (a local
socket's latency, well under the time a CLI takes to exit). A listener whose peer vanished
without closing (a network cut) is found by its heartbeat: the cache stops serving at most
`ALIVE_S` after the last good one.
"""

from __future__ import annotations

import threading
import time
import weakref
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from canonflow.tenancy.service import Principal


REVOKED_CHANNEL = "canonflow_token_revoked"
LISTENER_NAME = "canonflow-revocations"  # the listener's application_name
TTL_S = 30.0
HEARTBEAT_S = 2.0
ALIVE_S = 3 * HEARTBEAT_S
RECONNECT_S = 1.0
MAX_ENTRIES = 10_000

_live: weakref.WeakSet[PrincipalCache] = weakref.WeakSet()


class PrincipalCache:
    """Principals by token hash. `dsn` None (SQLite): never serves; otherwise it serves once
    `start()`ed and while its listener is connected."""

    def __init__(self, dsn: str | None, *, ttl_s: float = TTL_S) -> None:
        self._dsn = dsn
        self._ttl_s = ttl_s
        self._entries: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()
        self._generation = 0
        self._alive_until = 0.0  # monotonic; the listener proved itself connected until then
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.connected = threading.Event()  # set while the listener is connected (tests wait)
        _live.add(self)

    @property
    def enabled(self) -> bool:
        return self._dsn is not None

    @property
    def generation(self) -> int:
        return self._generation

    def start(self) -> None:
        """Start the listener thread (once; a no-op on SQLite or after `close`)."""
        with self._lock:
            if self._dsn is None or self._thread is not None or self._stopping.is_set():
                return
            self._thread = threading.Thread(
                target=self._listen, name="canonflow-token-revocations", daemon=True
            )
            self._thread.start()

    def close(self) -> None:
        self._stopping.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            if self.connected.is_set():
                self._wake()
            thread.join(timeout=HEARTBEAT_S + 5)
        self._disconnected()

    def _wake(self) -> None:
        """Notify the listener so it sees `close` now, not at its next heartbeat (every
        runtime's close, a test's teardown included, waited up to `HEARTBEAT_S` for it)."""
        import psycopg

        assert self._dsn is not None
        try:
            with psycopg.connect(self._dsn, autocommit=True, connect_timeout=2) as connection:
                connection.execute("SELECT pg_notify(%s, '')", (REVOKED_CHANNEL,))
        except psycopg.Error:
            pass  # the join's timeout still bounds the wait

    def get(self, token_hash: str) -> Principal | None:
        now = time.monotonic()
        if now >= self._alive_until:
            return None
        found = self._entries.get(token_hash)
        if found is None or found[0] <= now:
            return None
        return found[1]

    def put(self, token_hash: str, principal: Principal, generation: int) -> None:
        """Keep `principal`, read after `generation` was taken, unless anything was dropped
        (or the listener reconnected) since."""
        now = time.monotonic()
        with self._lock:
            if generation != self._generation or now >= self._alive_until:
                return
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[token_hash] = (now + self._ttl_s, principal)

    def drop(self, token_hash: str) -> None:
        with self._lock:
            self._generation += 1
            self._entries.pop(token_hash, None)

    # --- the listener thread ----------------------------------------------------------------

    def _listen(self) -> None:
        import psycopg

        assert self._dsn is not None
        while not self._stopping.is_set():
            try:
                with psycopg.connect(
                    self._dsn,
                    autocommit=True,
                    connect_timeout=5,
                    keepalives_idle=10,
                    application_name=LISTENER_NAME,
                ) as connection:
                    connection.execute(f"LISTEN {REVOKED_CHANNEL}")
                    self._connected()
                    self._serve(connection)
            except psycopg.Error as exc:
                import structlog  # here: a CLI command that reads a token loads no logging

                structlog.get_logger(__name__).warning(
                    "token revocation listener disconnected", error=str(exc)
                )
            finally:
                self._disconnected()
            self._stopping.wait(RECONNECT_S)

    def _serve(self, connection: object) -> None:
        import psycopg

        assert isinstance(connection, psycopg.Connection)
        while not self._stopping.is_set():
            for notify in connection.notifies(timeout=HEARTBEAT_S):
                if self._stopping.is_set():
                    return
                self.drop(notify.payload)
            connection.execute("SELECT 1")  # a dead connection raises here: fail closed
            self._alive_until = time.monotonic() + ALIVE_S

    def _connected(self) -> None:
        with self._lock:
            self._generation += 1
            self._entries.clear()
            self._alive_until = time.monotonic() + ALIVE_S
        self.connected.set()

    def _disconnected(self) -> None:
        self.connected.clear()
        with self._lock:
            self._generation += 1
            self._alive_until = 0.0
            self._entries.clear()


def forget_everywhere(token_hash: str) -> None:
    """Drop `token_hash` from every cache of this process, before the revoking transaction
    commits (its notification reaches the other processes, and this one again, at commit)."""
    for cache in list(_live):
        cache.drop(token_hash)
