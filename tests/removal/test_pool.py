"""removal.pool: how the stages are sized (their behaviour: tests/removal/test_stages.py)."""


import pytest

from removal import pool


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


def test_it_runs_both_halves_of_a_stage_at_once():
    import threading

    meet = threading.Barrier(2, timeout=10)  # broken (an error) unless the two run at the same time
    names = []

    def half(value):
        names.append(threading.current_thread().name)
        meet.wait()
        return value

    assert pool.both(lambda: half("first"), lambda: half("second")) == ("first", "second")
    assert threading.current_thread().name in names and any(n.startswith("removal-helper") for n in names)


def test_both_called_on_every_helper_at_once_runs_inline_instead_of_waiting_for_one():
    """A helper never waits on another: were every helper inside a `both` waiting for a free one,
    none would come (the alpha encoder uses `both` and may itself run beside the colour's)."""
    import os
    import threading

    helpers = os.cpu_count() or 1
    meet = threading.Barrier(helpers, timeout=10)  # every helper busy at once

    def outer():
        meet.wait()
        return pool.both(lambda: threading.current_thread().name, lambda: threading.current_thread().name)

    pool.both(lambda: None, lambda: None)  # the helpers exist
    futures = [pool._helpers.submit(outer) for _ in range(helpers)]
    for future in futures:
        first, second = future.result(timeout=10)  # TimeoutError: the deadlock
        assert first == second and first.startswith("removal-helper")


def test_it_raises_a_halfs_error_only_once_both_halves_are_done():
    import time

    finished = []

    def slow_second():
        time.sleep(0.2)
        finished.append("second")

    def failing_first():
        raise ValueError("first failed")

    with pytest.raises(ValueError, match="first failed"):
        pool.both(failing_first, slow_second)
    assert finished == ["second"]  # not left running behind the caller's back
    with pytest.raises(KeyError):
        pool.both(lambda: 1, lambda: {}["missing"])
