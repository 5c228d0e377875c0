"""Where the pipeline's work runs, and how much of it is let in at once.

Two stage executors, shared by every caller of `removal.pipeline` (API, editor, CLI, benchmarks):
  model  PIPELINE_MODEL_SLOTS threads (default PIPELINE_WORKERS): the model runs in one place
         sized for the machine, each inference on ONNX_INTRA_OP_THREADS onnxruntime threads, so
         a lone request's inference uses every core. With more slots than PIPELINE_WORKERS, an
         inference that starts while another runs uses a single-threaded session beside it
         (segment.model_run): the model alone did 288 against 389 ms an image on 2 loaded
         cores, but end to end it buys nothing: on a quiet 2-core machine (issue 28, bench/http.py,
         two A/B pairs) png 2.24/2.10x rembg's throughput with 2 slots against 2.39/2.43x with 1,
         webp 2.27/2.12x against 2.28/2.10x, for +200 MB of RSS. So it stays opt-in;
  cpu    PIPELINE_CPU_WORKERS threads (default: the process's cores) for decoding, the model's
         input, the mask's upscaling, compositing and encoding. They run beside another
         request's inference, so under load the model does not wait for the rest of a request.
Pillow and onnxruntime release the GIL, so threads give real parallelism; onnxruntime's threads
do not spin (see segment._session_options), so they leave an idle core to the cpu stage.

Admission (before any work, so a refusal costs nothing):
  - at most PIPELINE_QUEUE_LIMIT requests in flight (waiting or working): the next one gets
    PoolBusy (503 + Retry-After) at once;
  - at most PIPELINE_PIXEL_BUDGET pixels decoded in flight (default from the memory, see
    `pixel_budget_default`): a request waits for its pixels. A big image may be overtaken by
    small ones that fit, so it cannot stall them; after AGING_SECONDS nothing overtakes it
    any more, so it cannot starve either. One image never holds more than 3/4 of the budget
    (a 100 MP image on a small budget runs alone with room kept for small requests).
"""

import asyncio
import functools
import os
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from removal.config import env_read
from removal.errors import PoolBusy

T = TypeVar("T")

# Peak bytes per decoded pixel on the pipeline's worst path (a 100 MP palette PNG → WEBP peaks
# near 19 B/px over the process's base, a 48 MP photo near 11): the budget's unit cost.
BYTES_PER_PIXEL = 20
MIN_PIXEL_BUDGET = 16_000_000
AGING_SECONDS = 10.0


def memory_limit() -> int:
    """Bytes this process may use: the cgroup's limit when there is one, else the machine's RAM."""
    try:
        raw = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if raw.isdigit():
            return int(raw)
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def pixel_budget_default() -> int:
    """Half the memory, at BYTES_PER_PIXEL a decoded pixel (24 GB → ~600 MP, 2 GB → 50 MP)."""
    return max(MIN_PIXEL_BUDGET, memory_limit() // 2 // BYTES_PER_PIXEL)


@dataclass(frozen=True)
class PoolSizing:
    cpus: int
    workers: int  # inferences at once (the model executor's threads)
    intra_op_threads: int  # onnxruntime threads per inference
    queue_limit: int  # requests in flight; 0 = unbounded
    cpu_workers: int = 1  # decode / preprocess / upscale / composite / encode threads
    model_slots: int = 1  # inferences at once: a lone one uses intra_op_threads, the others 1 each
    pixel_budget: int = MIN_PIXEL_BUDGET  # decoded pixels in flight


def pool_sizing() -> PoolSizing:
    """Model workers, onnxruntime threads, cpu-stage threads and admission limits.

    Default: 2 onnxruntime threads per inference (a forward pass barely speeds up beyond 2)
    and as many model workers as fit: cpu // 2, at least 1. PIPELINE_WORKERS and
    ONNX_INTRA_OP_THREADS override; the thread count is then clamped so workers × threads ≤ cpus.
    The cpu stage gets as many threads as the model uses cores (config/serve.py gives each
    process its share through those two settings).
    """
    cpus = os.cpu_count() or 1
    threads = env_read("ONNX_INTRA_OP_THREADS", 0) or min(2, cpus)
    workers = env_read("PIPELINE_WORKERS", 0) or max(1, cpus // threads)
    threads = max(1, min(threads, cpus // workers))
    return PoolSizing(
        cpus=cpus, workers=workers, intra_op_threads=threads,
        queue_limit=env_read("PIPELINE_QUEUE_LIMIT", workers * 16),
        cpu_workers=env_read("PIPELINE_CPU_WORKERS", 0) or workers * threads,
        model_slots=env_read("PIPELINE_MODEL_SLOTS", 0) or workers,
        pixel_budget=env_read("PIPELINE_PIXEL_BUDGET", 0) or pixel_budget_default(),
    )


# --- admission ---------------------------------------------------------------------------------


class _Waiter:
    def __init__(self, cost: int) -> None:
        self.cost = cost
        self.since = time.monotonic()
        self.loop = asyncio.get_running_loop()
        self.future: asyncio.Future = self.loop.create_future()
        self.granted = False

    def wake(self) -> None:
        self.loop.call_soon_threadsafe(self._resolve)

    def _resolve(self) -> None:
        if not self.future.done():
            self.future.set_result(None)


class Admission:
    """Requests in flight and decoded pixels in flight, shared by every event loop and thread."""

    def __init__(self, *, limit: int, budget: int) -> None:
        self.limit = limit
        self.budget = budget
        self.cap = max(1, budget - budget // 4)  # the quarter kept for small requests
        self.lock = threading.Lock()
        self.tickets = 0
        self.pixels = 0
        self.waiting: list[_Waiter] = []

    def enter(self) -> "Ticket":
        """Admit one request or raise PoolBusy at once (nothing done, nothing to undo)."""
        with self.lock:
            if self.limit and self.tickets >= self.limit:
                raise PoolBusy()
            self.tickets += 1
        return Ticket(self)

    def grant(self) -> None:
        """Give pixels to the waiters that fit, in arrival order, and wake them."""
        granted = []
        with self.lock:
            now = time.monotonic()
            for waiter in list(self.waiting):
                if self.pixels + waiter.cost <= self.budget:
                    self.pixels += waiter.cost
                    waiter.granted = True
                    self.waiting.remove(waiter)
                    granted.append(waiter)
                elif now - waiter.since >= AGING_SECONDS:
                    break  # it has been overtaken long enough: the rest wait behind it
        for waiter in granted:
            waiter.wake()


class Ticket:
    """One admitted request: its place in the queue, then the pixels it holds, until its holder is
    done with it AND every piece of its work on the executors has finished (a cancelled request's
    decode or encode still running keeps its pixels counted). Hold it through `admitted()`."""

    def __init__(self, admission: Admission) -> None:
        self.admission = admission
        self.cost = 0
        self.released = False
        self._work = 0  # executor jobs submitted for this request and not finished yet
        self._closed = False  # the holder is done: release once the work has drained

    async def pixels_wait(self, pixels: int) -> None:
        """Wait until `pixels` fit in the budget, then hold them until release. One request never
        holds more than the cap in all (a second image of the same request, e.g. an editor's
        background, must not wait for pixels it can never get beside its own first image)."""
        admission = self.admission
        waiter = _Waiter(min(pixels, max(0, admission.cap - self.cost)))
        with admission.lock:
            admission.waiting.append(waiter)
        admission.grant()
        try:
            await waiter.future
        except BaseException:
            with admission.lock:
                if waiter.granted:
                    admission.pixels -= waiter.cost
                else:
                    admission.waiting.remove(waiter)
            admission.grant()
            raise
        self.cost += waiter.cost

    def pixels_add(self, pixels: int) -> None:
        """Hold `pixels` more without waiting (an output bigger than its input; the request is
        already working, and waiting while holding pixels could deadlock two such requests)."""
        extra = max(0, min(pixels, self.admission.cap) - self.cost)
        with self.admission.lock:
            self.admission.pixels += extra
        self.cost += extra

    def work_started(self) -> None:
        with self.admission.lock:
            self._work += 1

    def work_finished(self) -> None:
        with self.admission.lock:
            self._work -= 1
            due = self._closed and self._work == 0
        if due:
            self._release()

    def close(self) -> None:
        """The holder is done: give the place and pixels back now, or when its last job ends."""
        with self.admission.lock:
            self._closed = True
            due = self._work == 0
        if due:
            self._release()

    def _release(self) -> None:
        admission = self.admission
        with admission.lock:
            if self.released:
                return
            self.released = True
            admission.tickets -= 1
            admission.pixels -= self.cost
        admission.grant()


# --- executors ---------------------------------------------------------------------------------


class _Stages:
    def __init__(self, sizing: PoolSizing) -> None:
        self.sizing = sizing
        self.model = ThreadPoolExecutor(max_workers=sizing.model_slots, thread_name_prefix="removal-model")
        self.cpu = ThreadPoolExecutor(max_workers=sizing.cpu_workers, thread_name_prefix="removal-cpu")
        self.admission = Admission(limit=sizing.queue_limit, budget=sizing.pixel_budget)

    def shutdown(self) -> None:
        self.model.shutdown(wait=True)
        self.cpu.shutdown(wait=True)


_stages: _Stages | None = None
_stages_lock = threading.Lock()


def stages_get() -> _Stages:
    global _stages
    if _stages is None:
        with _stages_lock:
            if _stages is None:
                _stages = _Stages(pool_sizing())
    return _stages


def admission_enter() -> Ticket:
    """A place in the pipeline for one request, or PoolBusy when PIPELINE_QUEUE_LIMIT are in flight."""
    return stages_get().admission.enter()


@asynccontextmanager
async def admitted() -> AsyncIterator[Ticket]:
    """`async with admitted() as ticket:` one request's admission (PoolBusy at once when the queue
    is full), given back when the block ends and the work it started on the executors is done."""
    ticket = admission_enter()
    try:
        yield ticket
    finally:
        ticket.close()


def _settle(future: asyncio.Future, result: Any, error: BaseException | None) -> None:
    if future.done():  # the awaiting request was cancelled (client gone)
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


async def _stage_run(executor: ThreadPoolExecutor, ticket: Ticket | None, fn: Callable[..., T], *args: Any,
                     **kwargs: Any) -> T:
    """Run fn on `executor` and await it, counted on `ticket` until it has really finished. Unlike
    asyncio.wrap_future, no reference cycle keeps the result (a decoded image) alive after the caller
    dropped it: memory comes back at once. A cancelled caller's job that has not started never runs."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future = loop.create_future()

    def done(work) -> None:
        if ticket is not None:
            ticket.work_finished()
        if work.cancelled():
            return
        error = work.exception()
        loop.call_soon_threadsafe(_settle, future, None if error else work.result(), error)

    if ticket is not None:
        ticket.work_started()
    work = executor.submit(functools.partial(fn, *args, **kwargs))
    work.add_done_callback(done)
    try:
        return await future
    except asyncio.CancelledError:
        work.cancel()  # only succeeds before it started; a running job finishes and then releases
        raise


_helpers: ThreadPoolExecutor | None = None
_HELPER_PREFIX = "removal-helper"


def both(first: Callable[[], T], second: Callable[[], Any]) -> tuple[T, Any]:
    """Run `second` on a helper thread while `first` runs in this one; return both results.

    For the two independent halves of one stage (a WEBP's colour and alpha, the two halves of a
    resize): a lone request gets both cores, and under load the halves just queue for the CPU
    like any other work. Helpers never wait on anything, so a stage waiting for its helper
    always finishes (the cpu executor's own threads would deadlock when all of them wait): called
    on a helper, both run here, one after the other."""
    global _helpers
    if threading.current_thread().name.startswith(_HELPER_PREFIX):
        return first(), second()
    if _helpers is None:
        with _stages_lock:
            if _helpers is None:
                _helpers = ThreadPoolExecutor(max_workers=os.cpu_count() or 1,
                                              thread_name_prefix=_HELPER_PREFIX)
    pending = _helpers.submit(second)
    try:
        result = first()
    finally:
        other = pending.result()  # waited for even when `first` failed: no work left behind
    return result, other


async def cpu_stage(ticket: Ticket | None, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run decode / preprocess / upscale / composite / encode work on the cpu executor, for `ticket`'s
    request (None: work no admitted request owns, e.g. a warm-up)."""
    return await _stage_run(stages_get().cpu, ticket, fn, *args, **kwargs)


async def model_stage(ticket: Ticket | None, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run an inference on the model executor, for `ticket`'s request."""
    return await _stage_run(stages_get().model, ticket, fn, *args, **kwargs)


@dataclass(frozen=True)
class PoolStats:
    workers: int
    running: int
    queued: int


def pool_stats() -> PoolStats:
    """Current load, for metrics: requests admitted and working now, and requests waiting for pixels."""
    stages = stages_get()
    admission = stages.admission
    with admission.lock:
        waiting = len(admission.waiting)
        return PoolStats(workers=stages.sizing.workers, running=admission.tickets - waiting, queued=waiting)
