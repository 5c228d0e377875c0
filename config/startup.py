"""What every server process does once, when config.asgi is imported: say how it is set up
(execution provider, pool and thread sizing), and load the model and the matting solver when WARM_UP is on."""

import logging
import os
import threading

from django.conf import settings

from removal.pipeline import warm_up
from removal.pool import pool_sizing
from removal.refine import refine_warm_up
from removal.segment import precision_configured, precision_fallback, providers_configured, runtime_configured

log = logging.getLogger("cutout.startup")


def process_start() -> None:
    sizing = pool_sizing()
    providers = providers_configured()  # an unavailable provider stops the process here, loudly
    runtime = runtime_configured()  # and so does an unknown or missing MODEL_RUNTIME
    precision = precision_configured()  # or MODEL_PRECISION
    fallback = precision_fallback()
    if fallback:  # the server still starts: float is slower, not wrong
        log.warning("process %s: %s", os.getpid(), fallback,
                    extra={"pid": os.getpid(), "precision": precision})
    log.info(
        "process %s: model %s on %s (%s, u2netp in %s), %d pipeline workers x %d threads per inference "
        "(%d cpus), queue limit %d",
        os.getpid(), settings.REMBG_MODEL, runtime, ",".join(providers), precision, sizing.workers,
        sizing.intra_op_threads, sizing.cpus, sizing.queue_limit,
        extra={"pid": os.getpid(), "model": settings.REMBG_MODEL, "runtime": runtime, "providers": providers,
               "precision": precision,
               "pipeline_workers": sizing.workers, "onnx_intra_op_threads": sizing.intra_op_threads,
               "cpus": sizing.cpus, "queue_limit": sizing.queue_limit},
    )
    if settings.WARM_UP:
        warm_up(settings.REMBG_MODEL)
        log.info("process %s: model %s warmed up", os.getpid(), settings.REMBG_MODEL)
        solver_warm_up_start()


def _solver_warm_up() -> None:
    refine_warm_up()
    log.info("process %s: the matting solver warmed up", os.getpid())


def solver_warm_up_start() -> threading.Thread:
    """The matting solver's numba code (loaded from var/numba, removal.jit) warmed on a thread: a
    second of start-up the process serves through (issue 28's warm start). A refine=matting request
    arriving meanwhile waits on the same import, for what is left of it; it never compiles."""
    thread = threading.Thread(target=_solver_warm_up, name="cutout-solver-warm-up", daemon=True)
    thread.start()
    return thread
