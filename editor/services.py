"""Editor jobs: admit the caller, create a job, process it (charged once), re-render it (free), purge.

A new upload is the one charged cut-out (cutouts.service) with source "app", after the verified
email and short-term limit checks. The original and the full-size mask are stored, so a change of
presentation options only renders again from them: no inference and no charge.
"""

import asyncio
import io
import logging
import secrets
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from PIL import Image

from accounts.errors import EmailNotVerified
from accounts.services import Caller, client_ip, email_is_verified
from billing import ratelimit
from core.errors import processing_failed
from core.storage import expired_delete, files_delete
from cutouts.service import Cutout, cutout_charged, cutout_rerender
from editor.errors import JobNotReady, RendersInFlight, RenderTimedOut
from editor.models import EditorJob
from editor.progress import ProgressPublisher
from editor.selectors import job_state
from editor.touchups import touchups_load
from removal.options import OPTION_FIELDS, RemovalOptions
from removal.render import RenderResult

log = logging.getLogger(__name__)

THUMBNAIL_SIDE = 192
_EXTENSIONS = {"jpeg": "jpg", "png": "png", "webp": "webp", "bmp": "bmp"}


# --- admission -------------------------------------------------------------------------------


def editor_caller_admit(*, user, remote_addr: str, forwarded_for: str | None) -> Caller:
    """The signed-in user as an `app` caller, or EmailNotVerified (403) / RateLimited (429)."""
    if not email_is_verified(user=user):
        raise EmailNotVerified()
    ip = client_ip(remote_addr=remote_addr, forwarded_for=forwarded_for)
    caller = Caller(user=user, source="app", ip=ip)
    ratelimit.ratelimit_check(caller=caller)
    return caller


def options_fields(fields) -> dict[str, str]:
    """The presentation fields we keep with a job (everything else in the form is ignored)."""
    return {name: str(fields.get(name, "")) for name in OPTION_FIELDS if fields.get(name, "") != ""}


def job_create(*, user, filename: str, size: int, fields: dict[str, str]) -> EditorJob:
    return EditorJob.objects.create(user=user, original_name=filename[:255], original_size=size,
                                    options=fields)


# --- storage (runs in threads: no event-loop blocking) -------------------------------------------


@dataclass(frozen=True)
class Rendered:
    result: str
    thumbnail: str
    format: str
    content_type: str
    width: int
    height: int
    size: int
    refine: str = ""  # X-Refine and X-Refine-Reason of this render (empty: refine not asked)
    refine_reason: str = ""


def _storage_save(job: EditorJob, kind: str, ext: str, data: bytes) -> str:
    # A fresh name per version: a browser never shows a cached older result under the same URL.
    name = f"editor/{job.user_id}/{job.pk}/{kind}-{secrets.token_hex(4)}.{ext}"
    return default_storage.save(name, ContentFile(data))


def _thumbnail(cutout: Cutout) -> RenderResult:
    assert cutout.thumbnail is not None  # every editor render asks for one (THUMBNAIL_SIDE)
    return cutout.thumbnail


def _rendered_store(job: EditorJob, cutout: Cutout) -> Rendered:
    result = cutout.result
    return Rendered(
        result=_storage_save(job, "result", _EXTENSIONS[result.format], result.data),
        thumbnail=_storage_save(job, "thumb", "webp", _thumbnail(cutout).data),
        format=result.format, content_type=result.content_type, width=result.width, height=result.height,
        size=len(result.data), refine=cutout.refine or "", refine_reason=cutout.refine_reason or "",
    )


def _mask_store(job: EditorJob, mask: Image.Image) -> str:
    buffer = io.BytesIO()
    mask.save(buffer, format="PNG", compress_level=3)
    return _storage_save(job, "mask", "png", buffer.getvalue())


def _stored_load(job: EditorJob) -> tuple[bytes, Image.Image]:
    """The job's original bytes and its full-size mask, for a re-render."""
    with default_storage.open(job.original, "rb") as handle:
        data = handle.read()
    with default_storage.open(job.mask, "rb") as handle:
        mask = Image.open(handle)
        mask.load()
    return data, mask.convert("L")


# --- async services ----------------------------------------------------------------------------


def _rendered_apply(job: EditorJob, rendered: Rendered, fields: dict[str, str]) -> None:
    job.result, job.thumbnail = rendered.result, rendered.thumbnail
    job.result_format, job.result_content_type = rendered.format, rendered.content_type
    job.result_width, job.result_height, job.result_size = rendered.width, rendered.height, rendered.size
    job.options = fields
    job.refine, job.refine_reason = rendered.refine, rendered.refine_reason
    job.renders += 1
    job.stage, job.error_status, job.error_message = EditorJob.Stage.DONE, None, ""


async def job_process(*, job: EditorJob, caller: Caller, data: bytes, opts: RemovalOptions,
                      ref: str = "") -> EditorJob:
    """Decode, charge one `app` credit, segment, render and store the job, publishing each stage.

    The one charged cut-out (cutouts.service) with the original, the full-size mask and the result
    stored and the job row saved *inside* the charge: a job that could not be recorded is refunded.
    On failure the job is marked `error`, its files deleted, and the domain error raised for the
    view to render.
    """
    async with ProgressPublisher(job=job, ref=ref) as progress:
        progress.publish(EditorJob.Stage.RECEIVED)
        progress.publish(EditorJob.Stage.QUEUED)

        async def accepted(image) -> None:  # the upload passed every check: keep the original
            job.original = await sync_to_async(_storage_save)(
                job, "original", _EXTENSIONS[image.source_format], data)
            job.original_format, job.original_width, job.original_height = (
                image.source_format, image.width, image.height)

        async def keep(cutout) -> None:  # stored and recorded before the credit commits
            job.mask = await sync_to_async(_mask_store)(job, cutout.mask)
            rendered = await sync_to_async(_rendered_store)(job, cutout)
            await progress.flush()  # no in-flight stage may land on the row after it is done
            _rendered_apply(job, rendered, job.options)
            job.charged = True
            await job.asave()

        try:
            await cutout_charged(caller=caller, data=data, filename=job.original_name, options=opts,
                                 where="editor upload", idempotency_key=f"editor-{job.pk}",
                                 progress=progress.emit, keep_mask=True, thumbnail_side=THUMBNAIL_SIDE,
                                 accepted=accepted, keep=keep)
        except Exception as exc:
            error = processing_failed(exc, where="editor upload")
            await progress.flush()
            await _job_fail(job, error)
            progress.publish(EditorJob.Stage.ERROR, error=error.message, status=error.status)
            if error is exc:
                raise
            raise error from exc
        progress.publish(EditorJob.Stage.DONE, state=job_state(job=job))
    return job


async def _job_fail(job: EditorJob, error) -> None:
    await sync_to_async(files_delete)(job.storage_names)  # nothing of a failed upload is kept
    job.original = job.mask = job.result = job.thumbnail = ""
    job.charged = False
    job.stage, job.error_status, job.error_message = EditorJob.Stage.ERROR, error.status, error.message
    await job.asave()


def job_renderable(*, job: EditorJob, now: datetime | None = None) -> bool:
    """A processed job may be rendered again: it is done, or a render of it has been in flight for
    longer than any render may take (its process died or lost it: the previous result stands)."""
    if not job.mask or not job.result:
        return False
    if job.stage == EditorJob.Stage.DONE:
        return True
    stale = (now or timezone.now()) - timedelta(seconds=2 * settings.EDITOR_RENDER_TIMEOUT)
    return job.stage != EditorJob.Stage.ERROR and job.updated_at is not None and job.updated_at < stale


_renders: Counter[int] = Counter()  # renders in flight in this process, per user


@contextmanager
def _render_slot(user_id: int) -> Iterator[None]:
    """At most EDITOR_RENDERS_PER_USER renders of one user at once in this process: a burst of one
    user's touch-ups cannot hold every CPU slot while other users wait (RendersInFlight, 429)."""
    if _renders[user_id] >= settings.EDITOR_RENDERS_PER_USER:
        raise RendersInFlight()
    _renders[user_id] += 1
    try:
        yield
    finally:
        _renders[user_id] -= 1
        if not _renders[user_id]:
            del _renders[user_id]


async def job_rerender(*, job: EditorJob, opts: RemovalOptions, fields: dict[str, str],
                       ref: str = "") -> EditorJob:
    """Render a processed job again with new presentation options: no inference, no charge, but
    admitted like any cut-out (cutouts.service.cutout_rerender), within EDITOR_RENDER_TIMEOUT."""
    if not job_renderable(job=job):
        raise JobNotReady()
    with _render_slot(job.user_id):
        return await _rerender(job=job, opts=opts, fields=fields, ref=ref)


async def _rerender(*, job: EditorJob, opts: RemovalOptions, fields: dict[str, str], ref: str) -> EditorJob:
    async with ProgressPublisher(job=job, ref=ref) as progress:
        progress.publish(EditorJob.Stage.QUEUED)
        try:
            data, mask = await sync_to_async(_stored_load)(job)
            touchups = await sync_to_async(touchups_load, thread_sensitive=False)(job)
            try:
                async with asyncio.timeout(settings.EDITOR_RENDER_TIMEOUT):
                    cutout = await cutout_rerender(data=data, filename=job.original_name, mask=mask,
                                                   options=opts, touchups=touchups, progress=progress.emit,
                                                   thumbnail_side=THUMBNAIL_SIDE)
            except TimeoutError:
                raise RenderTimedOut() from None
            rendered = await sync_to_async(_rendered_store)(job, cutout)
        except BaseException as exc:  # a cancelled render (client gone) too: the job stays renderable
            await progress.flush()
            # The previous result is still there and still valid.
            await EditorJob.objects.filter(pk=job.pk).aupdate(stage=EditorJob.Stage.DONE)
            if not isinstance(exc, Exception):
                raise
            error = processing_failed(exc, where="editor re-render")
            progress.publish(EditorJob.Stage.ERROR, error=error.message, status=error.status)
            if error is exc:
                raise
            raise error from exc
        await progress.flush()
        old = [job.result, job.thumbnail]
        _rendered_apply(job, rendered, fields)
        await job.asave()
        await sync_to_async(files_delete)(old)
        progress.publish(EditorJob.Stage.DONE, state=job_state(job=job))
    return job


# --- retention ---------------------------------------------------------------------------------


def jobs_purge(*, now: datetime | None = None, days: int | None = None) -> int:
    """Delete jobs (rows and files) older than the retention period. Returns how many."""
    return expired_delete(EditorJob.objects.all(), now=now, days=days)


def job_delete(*, job: EditorJob) -> None:
    files_delete(job.storage_names)
    job.delete()


def storage_open(name: str):
    return default_storage.open(name, "rb")
