"""Pipelines for long syncs: fetch page N+1 and write page N-1 while page N is processed."""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

T = TypeVar("T")
_DONE = object()


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


class Prefetcher(Generic[T]):
    """Iterate `source` on a background thread, at most `depth` items ahead.

    Errors raised by the source are re-raised by the consumer, in order. `close()` stops
    the producer early (e.g. when the consumer fails) and waits for it.
    """

    def __init__(self, source: Iterator[T], *, depth: int = 1) -> None:
        self._source = source
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._produce, name="canonflow-prefetch", daemon=True
        )
        self._thread.start()

    def _produce(self) -> None:
        try:
            for item in self._source:
                if not self._put(item):
                    return
        except BaseException as exc:  # handed to the consumer
            self._put(_Failure(exc))
            return
        self._put(_DONE)

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> Iterator[T]:
        while True:
            item = self._queue.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item  # type: ignore[misc]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    def __enter__(self) -> Prefetcher[T]:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


class SerialWriter(Generic[T]):
    """Run `write(item)` for submitted items one at a time, in order, on a background thread
    (SQLite and psycopg release the GIL while they write), at most `depth` items behind.

    `done(item)` runs on the caller's thread once an item is written. A failed write is
    re-raised by the next `submit` or by `drain`; nothing after it is written.
    """

    def __init__(self, write: Callable[[T], None], *, depth: int = 2) -> None:
        self._write = write
        self._depth = depth
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="canonflow-writer")
        self._pending: deque[tuple[Future[None], T, Callable[[T], None]]] = deque()

    def submit(self, item: T, done: Callable[[T], None]) -> None:
        while len(self._pending) >= self._depth:
            self._finish_oldest()
        self._pending.append((self._pool.submit(self._write, item), item, done))

    def drain(self) -> None:
        while self._pending:
            self._finish_oldest()

    def _finish_oldest(self) -> None:
        future, item, done = self._pending.popleft()
        future.result()
        done(item)

    def __enter__(self) -> SerialWriter[T]:
        return self

    def __exit__(self, *_exc: object) -> None:
        """On an early exit, writes not yet started are dropped; those already written
        still report `done`, so the counts stay true."""
        for future, _item, _done in self._pending:
            future.cancel()
        self._pool.shutdown(wait=True)
        while self._pending:
            future, item, done = self._pending.popleft()
            if not future.cancelled() and future.exception() is None:
                done(item)
