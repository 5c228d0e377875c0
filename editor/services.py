"""Editor jobs: admit the caller, create a job, process it (charged once), re-render it (free), purge.

A new upload goes through the same steps as `POST /rmbg` with source "app": verified email →
short-term limit → fields → decode → one credit reserved → model → commit, or refund on failure.
The original and the full-size mask are stored, so a change of presentation options only renders
again from them: no inference and no charge.
"""

import io
import logging
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from PIL import Image

from accounts.errors import EmailNotVerified
from accounts.services import Caller, client_ip, email_is_verified
from billing import quota, ratelimit
from billing.errors import BillingError
from config import metrics
from editor.errors import JobNotReady
from editor.models import Job
from editor.progress import ProgressPublisher
from editor.selectors import job_state
from editor.touchups import touchups_apply
from removal import pipeline
from removal.decode import LoadedImage, image_load
from removal.errors import PROCESSING_FAILED, ProcessingFailed, RemovalError
from removal.options import RemovalOptions
from removal.pool import run_in_pool

log = logging.getLogger(__name__)

OPTION_FIELDS = ("format", "w", "h", "exact_resize", "mask", "bg_color", "angle", "expand")
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


def job_create(*, user, filename: str, size: int, fields: dict[str, str]) -> Job:
    return Job.objects.create(user=user, original_name=filename[:255], original_size=size, options=fields)


# --- work done in the pool's threads (no database access here) ----------------------------------


@dataclass(frozen=True)
class Rendered:
    result: str
    thumbnail: str
    format: str
    content_type: str
    width: int
    height: int
    size: int


def _storage_save(job: Job, kind: str, ext: str, data: bytes) -> str:
    # A fresh name per version: a browser never shows a cached older result under the same URL.
    name = f"editor/{job.user_id}/{job.pk}/{kind}-{secrets.token_hex(4)}.{ext}"
    return default_storage.save(name, ContentFile(data))


def _thumbnail_options(image: LoadedImage, opts: RemovalOptions) -> RemovalOptions:
    small = max(image.width, image.height) > THUMBNAIL_SIDE
    side = THUMBNAIL_SIDE if small else None
    return replace(opts, width=side, height=side, exact_resize=False, format="webp")


def _render_store(job: Job, image: LoadedImage, mask: Image.Image, opts: RemovalOptions,
                  progress) -> Rendered:
    result = pipeline.render(image, mask, opts, progress=progress)
    thumb = pipeline.render(image, mask, _thumbnail_options(image, opts))
    return Rendered(
        result=_storage_save(job, "result", _EXTENSIONS[result.format], result.data),
        thumbnail=_storage_save(job, "thumb", "webp", thumb.data),
        format=result.format, content_type=result.content_type, width=result.width, height=result.height,
        size=len(result.data),
    )


def _original_load(job: Job, data: bytes) -> tuple[LoadedImage, str]:
    """Decode and check the upload (SPEC's limits), then keep the original bytes."""
    image = image_load(data, job.original_name)
    return image, _storage_save(job, "original", _EXTENSIONS[image.source_format], data)


def _job_compute(job: Job, image: LoadedImage, opts: RemovalOptions, progress) -> tuple[str, Rendered]:
    mask = pipeline.mask_compute(image, progress=progress)  # full size: re-renders may ask any size
    buffer = io.BytesIO()
    mask.save(buffer, format="PNG", compress_level=3)
    mask_name = _storage_save(job, "mask", "png", buffer.getvalue())
    try:
        return mask_name, _render_store(job, image, mask, opts, progress)
    except Exception:
        _files_delete([mask_name])
        raise


def _job_rerender(job: Job, opts: RemovalOptions, progress) -> Rendered:
    with default_storage.open(job.original, "rb") as handle:
        image = image_load(handle.read(), job.original_name)
    with default_storage.open(job.mask, "rb") as handle:
        mask = Image.open(handle)
        mask.load()
    image, mask = touchups_apply(job, image, mask.convert("L"), mask_only=opts.mask)
    return _render_store(job, image, mask, opts, progress)


def _files_delete(names) -> None:
    for name in names:
        try:
            default_storage.delete(name)
        except OSError:
            log.warning("could not delete %s", name, exc_info=True)


# --- async services ----------------------------------------------------------------------------


def _domain_error(exc: Exception) -> Exception:
    if isinstance(exc, RemovalError | BillingError):
        return exc
    log.exception("editor job failed")
    return ProcessingFailed(PROCESSING_FAILED)


def _rendered_apply(job: Job, rendered: Rendered, fields: dict[str, str]) -> None:
    job.result, job.thumbnail = rendered.result, rendered.thumbnail
    job.result_format, job.result_content_type = rendered.format, rendered.content_type
    job.result_width, job.result_height, job.result_size = rendered.width, rendered.height, rendered.size
    job.options = fields
    job.renders += 1
    job.stage, job.error_status, job.error_message = Job.Stage.DONE, None, ""


async def job_process(*, job: Job, data: bytes, opts: RemovalOptions, ref: str = "") -> Job:
    """Decode, charge one `app` credit, segment, render and store the job, publishing each stage.

    On failure the job is marked `error`, the credit (if taken) refunded, and the domain error
    raised for the view to render.
    """
    reservation = None
    async with ProgressPublisher(job=job, ref=ref) as progress:
        progress.publish(Job.Stage.RECEIVED)
        progress.publish(Job.Stage.QUEUED)
        try:
            image, job.original = await run_in_pool(_original_load, job, data)
            job.original_format, job.original_width, job.original_height = (
                image.source_format, image.width, image.height)
            reservation = await sync_to_async(quota.credits_reserve)(
                user_id=job.user_id, source="app", idempotency_key=f"editor-{job.pk}")
            job.mask, rendered = await run_in_pool(_job_compute, job, image, opts, progress.emit)
        except Exception as exc:
            error = _domain_error(exc)
            if reservation is not None:
                await sync_to_async(quota.credits_refund)(reservation=reservation)
            await progress.flush()
            await _job_fail(job, error)
            progress.publish(Job.Stage.ERROR, error=error.message, status=error.status)
            raise error from exc
        try:
            await sync_to_async(quota.credits_commit)(reservation=reservation)
        except BillingError:  # the image is made; the reservation sweeper settles the credit later
            log.warning("commit of %s failed", reservation.id, exc_info=True)
        await progress.flush()
        _rendered_apply(job, rendered, job.options)
        job.charged = True
        await job.asave()
        metrics.image_processed(source="app")
        progress.publish(Job.Stage.DONE, state=job_state(job=job))
    return job


async def _job_fail(job: Job, error: Exception) -> None:
    await sync_to_async(_files_delete)(job.storage_names)  # nothing of a failed upload is kept
    job.original = job.mask = job.result = job.thumbnail = ""
    job.stage, job.error_status, job.error_message = Job.Stage.ERROR, error.status, error.message
    await job.asave()


async def job_rerender(*, job: Job, opts: RemovalOptions, fields: dict[str, str], ref: str = "") -> Job:
    """Render a processed job again with new presentation options: no inference, no charge."""
    if job.stage != Job.Stage.DONE or not job.mask:
        raise JobNotReady()
    async with ProgressPublisher(job=job, ref=ref) as progress:
        progress.publish(Job.Stage.QUEUED)
        try:
            rendered = await run_in_pool(_job_rerender, job, opts, progress.emit)
        except Exception as exc:
            error = _domain_error(exc)
            await progress.flush()
            # The previous result is still there and still valid.
            await Job.objects.filter(pk=job.pk).aupdate(stage=Job.Stage.DONE)
            progress.publish(Job.Stage.ERROR, error=error.message, status=error.status)
            raise error from exc
        await progress.flush()
        old = [job.result, job.thumbnail]
        _rendered_apply(job, rendered, fields)
        await job.asave()
        await sync_to_async(_files_delete)(old)
        progress.publish(Job.Stage.DONE, state=job_state(job=job))
    return job


# --- retention ---------------------------------------------------------------------------------


def jobs_purge(*, now: datetime | None = None, days: int | None = None) -> int:
    """Delete jobs (rows and files) older than the retention period. Returns how many."""
    days = settings.EDITOR_RETENTION_DAYS if days is None else days
    cutoff = (now or timezone.now()) - timedelta(days=days)
    purged = 0
    for job in Job.objects.filter(created_at__lt=cutoff).iterator():
        _files_delete(job.storage_names)
        job.delete()
        purged += 1
    return purged


def job_delete(*, job: Job) -> None:
    _files_delete(job.storage_names)
    job.delete()


def storage_open(name: str):
    return default_storage.open(name, "rb")
