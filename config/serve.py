"""The production launcher: N uvicorn worker processes on one port, sharing Redis and the database.

    python -m config.serve --workers 4 --host 0.0.0.0 --port 8000

Each process runs its own inference pool, so the cores are divided between them: with C cores
and N processes a process gets C // N of them, as PIPELINE_WORKERS × ONNX_INTRA_OP_THREADS
(2 onnxruntime threads per inference when the share allows). Values set in the environment win.
The launcher also turns WARM_UP on (each process loads the model before taking traffic) and,
for N > 1, points PROMETHEUS_MULTIPROC_DIR at an emptied directory so /metrics adds up all
processes. uvicorn restarts a worker that dies. TLS and client addresses are the business of the
proxy in front and of Django (TRUSTED_PROXIES), so uvicorn's own proxy-header handling is off.

Batch jobs run elsewhere: `celery -A config worker --concurrency M` on the same or other machines
(config/celery.py). Web processes only take uploads and answer polls, so add web processes for
request load and workers for batch throughput, independently (docs/deploy.md, "Batch workers").
"""

import argparse
import os
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

from config.env import env_int, env_str
from removal.pool import MIN_PIXEL_BUDGET, pixel_budget_default

APP = "config.asgi:application"
THREADS_PER_INFERENCE = 2  # onnxruntime barely speeds a u2netp pass up beyond 2 threads


def process_sizing(*, cpus: int, processes: int, environ: Mapping[str, str]) -> dict[str, str]:
    """PIPELINE_WORKERS and ONNX_INTRA_OP_THREADS for each of `processes` processes sharing `cpus`;
    only the ones the environment does not already set."""
    share = max(1, cpus // processes)
    explicit_threads = environ.get("ONNX_INTRA_OP_THREADS", "").strip()
    threads = int(explicit_threads) if explicit_threads else min(THREADS_PER_INFERENCE, share)
    sizing = {}
    if not explicit_threads:
        sizing["ONNX_INTRA_OP_THREADS"] = str(threads)
    if not environ.get("PIPELINE_WORKERS", "").strip():
        sizing["PIPELINE_WORKERS"] = str(max(1, share // max(1, threads)))
    if processes > 1 and not environ.get("PIPELINE_PIXEL_BUDGET", "").strip():
        # The pixel budget guards the machine's memory; each process gets its share of it.
        sizing["PIPELINE_PIXEL_BUDGET"] = str(max(MIN_PIXEL_BUDGET, pixel_budget_default() // processes))
    return sizing


def child_environ(*, processes: int, port: int, environ: Mapping[str, str], cpus: int,
                  var_dir: Path, warm_up: bool = True) -> dict[str, str]:
    """The environment the worker processes inherit."""
    env = dict(environ) | process_sizing(cpus=cpus, processes=processes, environ=environ)
    env["PORT"] = str(port)  # settings derive the loopback websocket origins from the port served
    if warm_up:
        env.setdefault("WARM_UP", "true")
    if processes > 1 and not env.get("PROMETHEUS_MULTIPROC_DIR"):
        env["PROMETHEUS_MULTIPROC_DIR"] = str(var_dir / "prometheus" / str(port))
    return env


def _multiproc_dir_reset(path: str) -> None:
    # Values of processes that are gone would be added in forever: start from nothing.
    shutil.rmtree(path, ignore_errors=True)
    Path(path).mkdir(parents=True, exist_ok=True)


def _preflight() -> None:
    """Settings, the model file, its runtime, precision and execution provider, checked once before
    forking N times: a mistake there is one line on stderr and exit status 1, not a traceback from
    every worker (or a first request that fails)."""
    import django
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    try:
        django.setup()
    except ImproperlyConfigured as exc:  # a setting's value, removal's variables included
        sys.exit(f"error: {exc}")
    from removal.errors import ModelNotInstalled, ProviderUnavailable
    from removal.segment import (
        models_installed,
        precision_configured,
        providers_configured,
        runtime_configured,
    )

    try:
        providers_configured()
        runtime_configured()
        precision_configured()
    except (ProviderUnavailable, ModelNotInstalled) as exc:
        sys.exit(f"error: {exc}")
    if settings.REMBG_MODEL not in models_installed():
        sys.exit(f"error: model {settings.REMBG_MODEL!r} is not installed in {settings.U2NET_HOME} "
                 f"(run `python -m removal.provision` or `make model`)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m config.serve", description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=env_int("WEB_CONCURRENCY", 1, minimum=1),
                        help="server processes (default: $WEB_CONCURRENCY or 1)")
    parser.add_argument("--host", default=env_str("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=env_int("PORT", 8000, minimum=1))
    parser.add_argument("--no-warm-up", action="store_true", help="do not load the model at start")
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be at least 1")

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    var_dir = Path(env_str("CUTOUT_VAR_DIR", str(Path(__file__).resolve().parent.parent / "var")))
    env = child_environ(processes=args.workers, port=args.port, environ=os.environ, cpus=os.cpu_count() or 1,
                        var_dir=var_dir, warm_up=not args.no_warm_up)
    if env.get("PROMETHEUS_MULTIPROC_DIR"):
        _multiproc_dir_reset(env["PROMETHEUS_MULTIPROC_DIR"])
    os.environ.clear()
    os.environ.update(env)  # spawned workers inherit it; so does this process's own check below
    _preflight()

    import uvicorn

    uvicorn.run(
        APP, host=args.host, port=args.port, workers=args.workers, ws="websockets", lifespan="off",
        log_config=None, access_log=False,  # Django's LOGGING (JSON) and core.logs' access line
        proxy_headers=False, timeout_graceful_shutdown=30,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
