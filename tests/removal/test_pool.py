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
