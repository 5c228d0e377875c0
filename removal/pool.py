"""A bounded pool of worker threads for the pipeline, shared by every async caller.

Pillow and onnxruntime release the GIL, so threads give real parallelism. The pool is sized so
that `workers × onnxruntime intra-op threads` never exceeds the cores (see `pool_sizing`).
"""

import asyncio
import functools
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from removal.errors import PoolBusy

T = TypeVar("T")


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    value = int(raw)  # a typo should fail loudly at start-up, not be guessed around
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {raw!r}")
    return value


@dataclass(frozen=True)
class PoolSizing:
    cpus: int
    workers: int
    intra_op_threads: int
    queue_limit: int  # 0 = unbounded


def pool_sizing() -> PoolSizing:
    """Workers and onnxruntime threads per inference, from the environment or the CPU count.

    Default: 2 onnxruntime threads per inference (a forward pass barely speeds up beyond 2)
    and as many workers as fit: cpu // 2, at least 1. PIPELINE_WORKERS and ONNX_INTRA_OP_THREADS
    override; the thread count is then clamped so workers × threads ≤ cpus.
    """
    cpus = os.cpu_count() or 1
    threads = _env_int("ONNX_INTRA_OP_THREADS", 0) or min(2, cpus)
    workers = _env_int("PIPELINE_WORKERS", 0) or max(1, cpus // threads)
    threads = max(1, min(threads, cpus // workers))
    queue_limit = _env_int("PIPELINE_QUEUE_LIMIT", workers * 16)
    return PoolSizing(cpus=cpus, workers=workers, intra_op_threads=threads, queue_limit=queue_limit)


class _Pool:
    def __init__(self, sizing: PoolSizing) -> None:
        self.sizing = sizing
        self.executor = ThreadPoolExecutor(max_workers=sizing.workers, thread_name_prefix="removal")
        self._lock = threading.Lock()
        self.queued = 0
        self.running = 0

    def _track(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        with self._lock:
            self.queued -= 1
            self.running += 1
        try:
            return fn(*args, **kwargs)
        finally:
            with self._lock:
                self.running -= 1

    def submit(self, fn: Callable[..., T], *args: Any, **kwargs: Any):
        with self._lock:
            if self.sizing.queue_limit and self.queued >= self.sizing.queue_limit:
                raise PoolBusy()
            self.queued += 1
        future = self.executor.submit(self._track, fn, *args, **kwargs)
        future.add_done_callback(self._forget_cancelled)
        return future

    def _forget_cancelled(self, future) -> None:
        if future.cancelled():  # never started, so _track never took it off the queue
            with self._lock:
                self.queued -= 1


_pool: _Pool | None = None
_pool_lock = threading.Lock()


def pool_get() -> _Pool:
    global _pool
    if _pool is None:
        with _pool_lock:
            if _pool is None:
                _pool = _Pool(pool_sizing())
    return _pool


async def run_in_pool(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a blocking pipeline call on the shared pool and await its result."""
    future = pool_get().submit(functools.partial(fn, *args, **kwargs))
    return await asyncio.wrap_future(future)


@dataclass(frozen=True)
class PoolStats:
    workers: int
    running: int
    queued: int


def pool_stats() -> PoolStats:
    """Current load, for metrics: jobs running now and jobs waiting for a worker."""
    pool = pool_get()
    with pool._lock:
        return PoolStats(workers=pool.sizing.workers, running=pool.running, queued=pool.queued)


def queue_depth() -> int:
    """Jobs submitted but not yet started."""
    return pool_stats().queued
