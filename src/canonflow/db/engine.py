"""Engines and sessions. The entrypoint (request, job, CLI command) owns the transaction."""

from __future__ import annotations

import select
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from canonflow.db.types import RawJSON


def build_engine(url: str, **kwargs: Any) -> Engine:
    """An engine tuned for its backend (SQLite: WAL, foreign keys, busy timeout)."""
    parsed = make_url(url)
    kwargs.setdefault("json_serializer", _json_dumps)
    kwargs.setdefault("json_deserializer", orjson.loads)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", _configure_sqlite)
        event.listen(engine, "begin", _begin_sqlite)
        return engine
    kwargs.setdefault("pool_recycle", POOL_RECYCLE_S)
    if parsed.get_driver_name() == "psycopg":
        # psycopg prepares a statement run 5 times; PostgreSQL then settles on a generic
        # plan that ignores the tenant's size (the matrix summary went 170 → 280 ms).
        kwargs.setdefault("connect_args", {"prepare_threshold": None})
    engine = create_engine(url, **kwargs)
    if parsed.get_driver_name() == "psycopg" and not kwargs.get("pool_pre_ping"):
        event.listen(engine, "checkout", _check_idle_connection)
    return engine


POOL_RECYCLE_S = 3600


def _check_idle_connection(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Instead of `pool_pre_ping` (a `SELECT 1` round trip on every checkout): a pooled
    connection is idle, so the server has nothing to tell it. If its socket is readable
    the server closed it or said goodbye (`pg_terminate_backend`, a restart, an
    `idle_session_timeout`: PostgreSQL sends a FATAL error, then closes); the pool then
    opens another and retries. One `select` with no wait, no round trip. A peer that
    vanished without a word (a host down, a network cut) is found by the first statement,
    which then fails: that request gets a 5xx and the pool is emptied."""
    import psycopg.pq

    pgconn = dbapi_connection.pgconn
    if pgconn.status != psycopg.pq.ConnStatus.OK:
        raise DisconnectionError("connection closed")
    if pgconn.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        raise DisconnectionError("connection not idle when checked out")
    try:
        readable, _, _ = select.select([pgconn.socket], [], [], 0)
    except (OSError, ValueError, psycopg.OperationalError) as exc:
        raise DisconnectionError(str(exc)) from exc
    if readable:
        raise DisconnectionError("the server closed the connection or sent it a message")


_READ_ONLY = "canonflow_read_only"
SQLITE_CACHE_KIB = 32 * 1024


def _json_dumps(value: Any) -> str:
    """JSON columns hold whole workflows: orjson writes them several times faster; text
    that is already JSON (`RawJSON`) is stored as it is."""
    if isinstance(value, RawJSON):
        return value.text
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # A page cache of up to 32 MB (the default is 2 MB): writing thousands of workflows'
    # JSON otherwise spills and re-reads pages mid-transaction. Allocated only as used.
    # Onboarding bench at 64 MB: ~0.1 s less CPU of ~1.8 s in every paired run; 32 MB
    # bounds the memory (a 5,000-workflow sync peaks at ~220 MB instead of ~190 MB). The
    # cache is per connection and kept while pooled: 15 busy connections could hold 480 MB.
    cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    cursor.close()


def _begin_sqlite(connection: Any) -> None:
    # IMMEDIATE takes the write lock up front, so a transaction that reads and then writes
    # waits (busy_timeout) for another writer instead of failing with "database is locked"
    # when its read snapshot went stale. Transactions here are short, so the queueing is too.
    # A read-only transaction (`read_transaction`) takes no lock: a WAL snapshot.
    if connection.get_execution_options().get(_READ_ONLY):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def build_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def read_transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A unit of work that only reads, from one consistent snapshot. On SQLite it holds no
    write lock, so a long read (an export) never holds a sync up. Nothing is committed."""
    bind = factory.kw["bind"]
    options: dict[str, Any] = {_READ_ONLY: True}
    if bind.dialect.name == "postgresql":  # one snapshot for every statement
        options |= {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
    session = factory(bind=bind.execution_options(**options))
    try:
        yield session
    finally:
        session.rollback()
        session.close()


@lru_cache(maxsize=8)
def _autocommit(bind: Engine) -> Engine:
    return bind.execution_options(isolation_level="AUTOCOMMIT")


@contextmanager
def statement_reads(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A unit of work that only reads, each statement from its own snapshot: for a request
    whose answer is one statement (a matrix page) after the token read. On PostgreSQL the
    connection is in autocommit, so no BEGIN and ROLLBACK: two round trips fewer, the
    most of what a request waits for when the database's cores are busy. On SQLite (no
    network) the same as `read_transaction`."""
    bind = factory.kw["bind"]
    if bind.dialect.name != "postgresql":
        with read_transaction(factory) as session:
            yield session
        return
    session = factory(bind=_autocommit(bind))
    try:
        yield session
    finally:
        session.close()


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
