"""Process pools for CPU-bound work (content hashing) that the GIL would serialize."""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class InlineExecutor(Executor):
    """Runs each call at once on the caller's thread: for small jobs, and where a pool is
    not worth its start-up."""

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future


@contextmanager
def cpu_pool(*, jobs: int, min_jobs: int, max_workers: int | None = None) -> Iterator[Executor]:
    """A process pool when there are at least `min_jobs` work items and more than one core;
    otherwise an inline executor. Workers are spawned (safe beside threads)."""
    workers = min(max_workers or os.cpu_count() or 1, os.cpu_count() or 1)
    if jobs < min_jobs or workers < 2:
        yield InlineExecutor()
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        yield pool


class LazyProcessPool:
    """An executor that runs inline until `start()`, then in worker processes: for work
    whose size shows only as it arrives (an n8n listing has no total)."""

    def __init__(self, *, max_workers: int) -> None:
        self._max_workers = max_workers
        self._pool: ProcessPoolExecutor | None = None
        self._inline = InlineExecutor()
        self._lock = threading.Lock()  # syncs running at once may share one pool

    @property
    def parallel(self) -> bool:
        return self._pool is not None

    def start(self) -> None:
        cores = os.cpu_count() or 1
        with self._lock:
            self._start(cores)

    def _start(self, cores: int) -> None:
        if self._pool is None and cores >= 2:
            context = multiprocessing.get_context("spawn")
            workers = max(1, min(self._max_workers, cores - 1))
            self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        pool = self._pool  # read once: another thread may drop a broken pool meanwhile
        if pool is not None:
            try:
                return pool.submit(fn, *args, **kwargs)
            except BrokenProcessPool:  # a worker died: carry on without the pool
                with self._lock:
                    if self._pool is pool:
                        self._pool = None
                pool.shutdown(wait=False, cancel_futures=True)
        return self._inline.submit(fn, *args, **kwargs)

    def __enter__(self) -> LazyProcessPool:
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
