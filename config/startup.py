"""What every server process does once, when config.asgi is imported: say how it is set up
(execution provider, pool and thread sizing), and load the model and the matting solver when WARM_UP is on.

The model loads and warms on a thread begun before Django is imported (`warm_up_begin`, the first
thing config.asgi does): OpenVINO compiles and runs natively, without the GIL, while the main
thread imports Django, the apps and the URLconf (the thread's own imports come first, on the main
thread: see warm_up_begin). Warm `make run` → /healthz ok, worker included: 3.15-3.97 →
2.38-2.70 s, six runs each (issue 28; the two were one after the other, ~1.0 s of model and
warm-up after ~1.3 s of imports; with the OpenVINO cache and a lighter warm-up, see
removal.segment and removal.pipeline.warm_up).
"""

import gc
import logging
import os
import threading
import time
from importlib import import_module

from django.conf import settings

log = logging.getLogger("cutout.startup")


class WarmUp:
    """removal.pipeline.warm_up on a thread of its own; `wait()` joins it and raises what it raised."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.error: BaseException | None = None
        self.seconds = 0.0
        self._thread = threading.Thread(target=self._run, name="cutout-model-warm-up", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        started = time.perf_counter()
        try:
            from removal.pipeline import warm_up

            warm_up(self.model)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread by wait()
            self.error = exc
        self.seconds = time.perf_counter() - started

    def wait(self) -> None:
        self._thread.join()
        if self.error is not None:
            raise self.error


def warm_up_begin() -> WarmUp | None:
    """Start loading and warming the model when WARM_UP is on (reads the settings module only:
    Django need not be set up yet). What the warm-up imports is imported first, here: the thread
    then imports nothing while this one imports Django (removal.pipeline.warm_up_imports)."""
    if not settings.WARM_UP:
        return None
    from removal.pipeline import warm_up_imports

    warm_up_imports(settings.REMBG_MODEL)
    return WarmUp(settings.REMBG_MODEL)


def process_start(warming: WarmUp | None = None) -> None:
    """`warming`: the warm-up warm_up_begin started, waited for here (begun here when None)."""
    from removal import segment
    from removal.pool import pool_sizing

    sizing = pool_sizing()
    providers = segment.providers_configured()  # an unavailable provider stops the process here, loudly
    runtime = segment.runtime_configured()  # and so does an unknown or missing MODEL_RUNTIME
    precision = segment.precision_configured()  # or MODEL_PRECISION
    fallback = segment.precision_fallback()
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
    import_module(settings.ROOT_URLCONF)  # the API's routers and schemas: not on the first request
    if settings.WARM_UP:
        warming = warming or WarmUp(settings.REMBG_MODEL)
        warming.wait()
        log.info("process %s: model %s warmed up (%.2f s)", os.getpid(), settings.REMBG_MODEL,
                 warming.seconds)
        solver_warm_up_start()
    gc_freeze()


def gc_freeze() -> None:
    """Move what start-up made (modules, Django, the model's wrappers: ~150 000 objects) out of the
    cyclic collector's reach. Before a large image the pipeline runs a full collection
    (removal.pipeline._memory_reclaim), on the event loop: 70-150 ms of walking these every time,
    ~0 ms after. Objects made later are collected as before. Called before the process serves."""
    gc.collect()
    gc.freeze()


def _solver_warm_up() -> None:
    from removal.refine import refine_warm_up

    refine_warm_up()  # its ~90 000 objects stay collectable (~30 ms a full collection): requests
    # may be running by now, and a live object frozen into a later cycle would never be freed
    log.info("process %s: the matting solver warmed up", os.getpid())


def solver_warm_up_start() -> threading.Thread:
    """The matting solver's numba code (loaded from var/numba, removal.jit) warmed on a thread: a
    second of start-up the process serves through (issue 28's warm start). A refine=matting request
    arriving meanwhile waits on the same import, for what is left of it; it never compiles."""
    thread = threading.Thread(target=_solver_warm_up, name="cutout-solver-warm-up", daemon=True)
    thread.start()
    return thread
