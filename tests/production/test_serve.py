"""The launcher divides the cores between its processes, and sets up what they share."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from config.serve import child_environ, process_sizing
from removal import segment
from removal.pool import pool_sizing


@pytest.mark.parametrize(("cpus", "processes", "threads", "workers"), [
    (2, 1, 2, 1),
    (2, 2, 1, 1),
    (8, 1, 2, 4),
    (8, 4, 2, 1),
    (16, 2, 2, 4),
    (4, 8, 1, 1),  # more processes than cores: one thread each, never zero
])
def test_it_gives_each_process_its_share_of_the_cores(cpus, processes, threads, workers):
    sizing = process_sizing(cpus=cpus, processes=processes, environ={})
    sizing.pop("PIPELINE_PIXEL_BUDGET", None)
    assert sizing == {"ONNX_INTRA_OP_THREADS": str(threads), "PIPELINE_WORKERS": str(workers)}


def test_it_gives_each_process_its_share_of_the_pixel_budget():
    from removal.pool import pixel_budget_default

    assert "PIPELINE_PIXEL_BUDGET" not in process_sizing(cpus=8, processes=1, environ={})
    shared = int(process_sizing(cpus=8, processes=4, environ={})["PIPELINE_PIXEL_BUDGET"])
    assert shared == max(16_000_000, pixel_budget_default() // 4)


def test_it_keeps_values_set_in_the_environment():
    kept = {"PIPELINE_PIXEL_BUDGET": "1"}
    assert process_sizing(cpus=8, processes=2, environ={"PIPELINE_WORKERS": "3", **kept}) == {
        "ONNX_INTRA_OP_THREADS": "2"}
    assert process_sizing(cpus=8, processes=2, environ={"ONNX_INTRA_OP_THREADS": "4", **kept}) == {
        "PIPELINE_WORKERS": "1"}
    assert process_sizing(cpus=8, processes=2,
                          environ={"ONNX_INTRA_OP_THREADS": "1", "PIPELINE_WORKERS": "2", **kept}) == {}


def test_it_is_what_the_pool_of_each_process_then_uses(monkeypatch):
    for name, value in process_sizing(cpus=8, processes=4, environ={}).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    sizing = pool_sizing()
    assert (sizing.workers, sizing.intra_op_threads) == (1, 2)


def test_it_warms_up_and_shares_metrics_between_several_processes(tmp_path):
    env = child_environ(processes=3, port=8123, environ={"PATH": "/bin"}, cpus=6, var_dir=tmp_path)
    assert env["WARM_UP"] == "true"
    assert Path(env["PROMETHEUS_MULTIPROC_DIR"]) == tmp_path / "prometheus" / "8123"
    assert (env["PIPELINE_WORKERS"], env["ONNX_INTRA_OP_THREADS"], env["PATH"]) == ("1", "2", "/bin")
    assert env["PORT"] == "8123"  # its loopback origins may open the editor websocket


def test_it_leaves_single_process_metrics_and_explicit_choices_alone(tmp_path):
    env = child_environ(processes=1, port=8000, environ={"WARM_UP": "false"}, cpus=2, var_dir=tmp_path)
    assert "PROMETHEUS_MULTIPROC_DIR" not in env
    assert env["WARM_UP"] == "false"
    env = child_environ(processes=2, port=8000, environ={"PROMETHEUS_MULTIPROC_DIR": "/srv/prom"}, cpus=2,
                        var_dir=tmp_path, warm_up=False)
    assert env["PROMETHEUS_MULTIPROC_DIR"] == "/srv/prom"
    assert "WARM_UP" not in env


@pytest.mark.parametrize(("variables", "message"), [
    ({"MODEL_PRECISION": "int4"}, "error: MODEL_PRECISION must be one of f32, int8, got 'int4'"),
    ({"MODEL_RUNTIME": "tensorrt"}, "error: MODEL_RUNTIME must be one of openvino, onnxruntime, got 'tensorrt'"),
    ({"REFINE_TIME_BUDGET": "3s"}, "error: REFINE_TIME_BUDGET must be a number, got '3s'"),  # not at 1st refine
    ({"PIPELINE_QUEUE_LIMIT": "-1"}, "error: PIPELINE_QUEUE_LIMIT must be at least 0, got -1"),
    ({"MODEL_PRECISION": "int8", "U2NET_HOME": "{float_only}"},
     "error: MODEL_PRECISION=int8, but {float_only}/u2netp-int8-v2.xml is missing"),
])
def test_it_refuses_to_start_with_a_model_setting_it_cannot_serve(tmp_path, variables, message):
    """One line on stderr and exit status 1 before anything listens, not a traceback per worker."""
    float_only = tmp_path / "models"
    float_only.mkdir()
    (float_only / "u2netp.onnx").symlink_to(segment.model_home() / "u2netp.onnx")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, **{name: value.format(float_only=float_only) for name, value in variables.items()}}
    done = subprocess.run([sys.executable, "-m", "config.serve", "--port", str(port)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1].startswith(message.format(float_only=float_only))
    assert "Traceback" not in done.stderr


def test_it_starts_on_the_float_model_with_one_warning_when_the_int8_file_is_missing(tmp_path):
    """MODEL_PRECISION unset asks for int8 where it was built; a machine where its build failed (or
    that has only the float file) still serves, on float, and says so once."""
    from django.conf import settings

    from tests.production.conftest import Deployment

    float_only = tmp_path / "models"
    float_only.mkdir()
    (float_only / "u2netp.onnx").symlink_to(segment.model_home() / "u2netp.onnx")
    deployment = Deployment(tmp_path, settings.REDIS_URL)
    deployment.env.update(U2NET_HOME=str(float_only))
    deployment.env.pop("MODEL_PRECISION", None)
    deployment.manage("migrate", "--noinput", "-v", "0")
    try:
        deployment.serve()
    finally:
        deployment.stop()
    (log,) = tmp_path.glob("server-*.log")
    lines = log.read_text().splitlines()
    warnings = [line for line in lines if "int8 variant" in line]
    assert len(warnings) == 1, lines
    assert '"WARNING"' in warnings[0] and f"{float_only}/u2netp-int8-v2.xml is missing" in warnings[0]
    assert any('"precision": "f32"' in line and "pipeline workers" in line for line in lines), lines
