"""removal.pool: the bounded worker pool shared by async callers."""

import asyncio
import threading

import pytest

from removal import pool
from removal.errors import PoolBusy
from removal.options import options_parse
from removal.pipeline import remove_background


@pytest.fixture
def fresh_pool(monkeypatch):
    """A pool built from the current environment, shut down after the test."""
    monkeypatch.setattr(pool, "_pool", None)
    yield
    if pool._pool is not None:
        pool._pool.executor.shutdown(wait=True)


@pytest.mark.parametrize(
    "env,cpus,workers,threads",
    [
        ({}, 2, 1, 2),
        ({}, 8, 4, 2),
        ({}, 1, 1, 1),
        ({"PIPELINE_WORKERS": "2"}, 2, 2, 1),
        ({"PIPELINE_WORKERS": "3", "ONNX_INTRA_OP_THREADS": "4"}, 8, 3, 2),
        ({"ONNX_INTRA_OP_THREADS": "1"}, 4, 4, 1),
    ],
)
def test_it_sizes_the_pool_so_threads_never_exceed_the_cores(monkeypatch, env, cpus, workers, threads):
    monkeypatch.setattr(pool.os, "cpu_count", lambda: cpus)
    for name in ("PIPELINE_WORKERS", "ONNX_INTRA_OP_THREADS", "PIPELINE_QUEUE_LIMIT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    sizing = pool.pool_sizing()
    assert (sizing.workers, sizing.intra_op_threads) == (workers, threads)
    assert sizing.workers * sizing.intra_op_threads <= cpus
    assert sizing.queue_limit == workers * 16


def test_it_refuses_a_bad_setting(monkeypatch):
    monkeypatch.setenv("PIPELINE_WORKERS", "many")
    with pytest.raises(ValueError):
        pool.pool_sizing()


async def test_it_runs_the_pipeline_off_the_event_loop(fresh_pool, chelsea_jpeg):
    loop_thread = threading.get_ident()
    seen = []

    def stage(name):
        seen.append(threading.get_ident())

    options = options_parse({})
    result = await pool.run_in_pool(remove_background, chelsea_jpeg, "c.jpg", options, progress=stage)
    assert result.format == "webp" and len(result.data) > 0
    assert seen and loop_thread not in seen


async def test_it_propagates_errors(fresh_pool):
    with pytest.raises(ZeroDivisionError):
        await pool.run_in_pool(lambda: 1 / 0)


async def test_it_reports_queue_depth_and_refuses_past_the_limit(fresh_pool, monkeypatch):
    monkeypatch.setenv("PIPELINE_WORKERS", "1")
    monkeypatch.setenv("PIPELINE_QUEUE_LIMIT", "2")
    release = threading.Event()
    started = threading.Event()

    def block():
        started.set()
        release.wait(10)
        return "done"

    first = asyncio.ensure_future(pool.run_in_pool(block))
    await asyncio.to_thread(started.wait, 10)
    waiting = [asyncio.ensure_future(pool.run_in_pool(lambda: "queued")) for _ in range(2)]
    await asyncio.sleep(0)
    stats = pool.pool_stats()
    assert (stats.workers, stats.running, stats.queued) == (1, 1, 2)
    assert pool.queue_depth() == 2
    with pytest.raises(PoolBusy) as caught:
        await pool.run_in_pool(lambda: "one too many")
    assert caught.value.status == 503 and caught.value.headers["Retry-After"]
    release.set()
    assert await first == "done"
    assert await asyncio.gather(*waiting) == ["queued", "queued"]
    assert pool.pool_stats().queued == 0
