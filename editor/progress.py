"""Progress events for a job, sent in order to its owner's channel-layer group.

The pipeline reports stages from a worker thread of `removal.pool`; `emit` hops onto the event
loop with `call_soon_threadsafe`, and one publisher task sends the events one after the other, so
they arrive in the order they happened. Progress is a convenience: a failed send is logged, never
raised, because the upload response and `GET /editor/jobs/<id>/` carry the same state.
"""

import asyncio
import logging

from channels.layers import get_channel_layer
from django.utils import timezone
from redis.exceptions import RedisError

from editor.models import EditorJob

log = logging.getLogger(__name__)
# What the channel layer raises when its Redis is gone or silent (redis-py wraps socket errors). Not
# OSError: uvicorn signals a websocket client that went away with one (ClientDisconnected).
LAYER_DOWN = (RedisError,)

# Stages that describe work in flight; the final ones are written by the service with the result.
_IN_FLIGHT = {EditorJob.Stage.RECEIVED, EditorJob.Stage.QUEUED, EditorJob.Stage.SEGMENTING,
              EditorJob.Stage.REFINING, EditorJob.Stage.COMPOSITING, EditorJob.Stage.ENCODING}


def user_group(user_id: int) -> str:
    """The channel-layer group of one user's editor pages (all tabs, all server processes)."""
    return f"editor.user.{user_id}"


class ProgressPublisher:
    """`async with ProgressPublisher(job=..., ref=...) as progress:` then `progress.publish(stage)`
    from the loop or `progress.emit(stage)` from any thread; `await progress.flush()` waits until
    everything queued so far is sent (and its stage written to the job row)."""

    def __init__(self, *, job: EditorJob, ref: str = "") -> None:
        self.job_id = job.pk
        self.group = user_group(job.user_id)
        self.ref = ref
        self._queue: asyncio.Queue = asyncio.Queue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task | None = None

    async def __aenter__(self) -> "ProgressPublisher":
        self._loop = asyncio.get_running_loop()
        self._task = self._loop.create_task(self._run())
        return self

    async def __aexit__(self, *exc_info) -> None:
        self._queue.put_nowait(None)
        assert self._task is not None  # set by __aenter__
        await self._task

    def publish(self, stage: str, **extra) -> None:
        """From the event loop's thread."""
        self._queue.put_nowait((stage, extra))

    def emit(self, stage: str) -> None:
        """From any thread: the pipeline's `progress` callback."""
        assert self._loop is not None  # set by __aenter__
        self._loop.call_soon_threadsafe(self._queue.put_nowait, (stage, {}))

    async def flush(self) -> None:
        await self._queue.join()

    async def _run(self) -> None:
        layer = get_channel_layer()
        while True:
            item = await self._queue.get()
            try:
                if item is None:
                    return
                await self._send(layer, *item)
            finally:
                self._queue.task_done()

    async def _send(self, layer, stage: str, extra: dict) -> None:
        try:
            if stage in _IN_FLIGHT:
                # updated_at too (update() skips auto_now): a stage left behind by a dead process is
                # recognised by its age (editor.services.job_renderable)
                await EditorJob.objects.filter(pk=self.job_id).aupdate(stage=stage, updated_at=timezone.now())
            event = {"type": "job.progress", "job": str(self.job_id), "stage": stage, "ref": self.ref,
                     **extra}
            await layer.group_send(self.group, event)
        except LAYER_DOWN as exc:  # the channel layer's Redis is away: one line per event, no traceback
            log.warning("progress event %s for job %s not delivered (%s: %s)", stage, self.job_id,
                        type(exc).__name__, exc)
        except Exception:  # the database hiccuped: the HTTP answer still carries the state
            log.warning("progress event %s for job %s not delivered", stage, self.job_id, exc_info=True)
