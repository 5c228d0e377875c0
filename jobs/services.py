"""Batch jobs: submit, read, cancel, process one item on a worker, settle, deliver, purge.

One Celery task per item (jobs/tasks.py) calls `item_process`; the item runs through the one
charged cut-out (cutouts.service) as POST /rmbg does, for the key that submitted the job (a test
key's items are small and free), with the idempotency key `batch-<job>-<index>`, so a task
re-delivered after its worker died never charges twice (the reserve script hands back the existing
reservation). Credits are reserved when a worker starts an item, not at submit: when they run out
the remaining items fail with the no-credits error and cost nothing, and cancelled items cost nothing.
"""

import json
import os
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from asgiref.sync import async_to_sync, sync_to_async
from celery import current_app
from django.conf import settings
from django.core import signing
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.paginator import EmptyPage, Paginator
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from kombu.exceptions import OperationalError

from accounts.services import Caller, webhook_secret_get
from core import worker_heartbeat
from core.errors import DOMAIN_ERRORS, error_body
from core.image_fetch import image_fetch, image_url_form_error
from core.storage import files_delete, signed_url
from cutouts.service import cutout_charged
from jobs import metrics, webhooks
from jobs.errors import JobNotFound, QueueUnavailable, ResultLinkInvalid
from jobs.models import BatchJob, Item
from removal.decode import image_probe
from removal.errors import NO_IMAGE_PROVIDED, PROCESSING_FAILED, ImageRejected, ValidationFailed
from removal.fields import FieldErrors
from removal.options import OPTION_FIELDS, options_parse
from removal.render import RenderResult

ITEM_TASK = "jobs.tasks.item_run"
WEBHOOK_TASK = "jobs.tasks.webhook_deliver"
_EXTENSIONS = {"jpeg": "jpg", "png": "png", "webp": "webp", "bmp": "bmp"}
_RESULT_SALT = "jobs.result"
_UNFINISHED = {Item.Status.QUEUED, Item.Status.RUNNING}


# --- submit ----------------------------------------------------------------------------------


def _files_check(files: list[tuple[str, bytes]], urls: list[str], errors: FieldErrors) -> None:
    """Every file's name, size, signature and dimensions (header only), reported per `image[i]`;
    every URL's form per `image_url[i]` (its addresses are checked when a worker downloads it)."""
    count = len(files) + len(urls)
    if not count:
        errors.add("image", NO_IMAGE_PROVIDED)
    if count > settings.JOBS_MAX_ITEMS:
        errors.add("image", f"Too many images: at most {settings.JOBS_MAX_ITEMS} per job, got {count}.")
        return
    for index, (filename, data) in enumerate(files):
        try:
            image_probe(data, filename)
        except ImageRejected as exc:
            errors.add(f"image[{index}]", exc.message)
    for index, url in enumerate(urls):
        problem = image_url_form_error(url)
        if problem:
            errors.add(f"image_url[{index}]", problem)


def _options_check(fields: dict[str, str], errors: FieldErrors) -> dict[str, str]:
    """The option fields of /rmbg, validated once for every item; the raw strings are kept."""
    raw = {name: fields[name] for name in OPTION_FIELDS if name in fields}
    try:
        options_parse(raw)
    except ValidationFailed as exc:
        for detail in exc.details:
            errors.add(detail["field"], detail["message"])
    return raw


def _callback_check(url: str, errors: FieldErrors) -> str:
    url = url.strip()
    problem = webhooks.callback_url_error(url) if url else None
    if problem:
        errors.add("callback_url", problem)
    return url


def _source_save(job: BatchJob, index: int, filename: str, data: bytes) -> str:
    ext = os.path.splitext(filename)[1].lower().lstrip(".")
    return default_storage.save(f"batch/{job.user_id}/{job.pk}/in-{index}.{ext}", ContentFile(data))


def job_submit(*, caller: Caller, files: list[tuple[str, bytes]], fields: dict[str, str],
               urls: Sequence[str] = ()) -> BatchJob:
    """Check everything (all errors at once; nothing is stored on a refusal), store, enqueue each item.
    Uploaded files come first, then the `image_url` items, in the order given."""
    errors = FieldErrors()
    _files_check(files, list(urls), errors)
    options = _options_check(fields, errors)
    callback_url = _callback_check(fields.get("callback_url", ""), errors)
    errors.raise_any()
    if worker_heartbeat.workers_none_alive():  # a job nobody would run: 503 + Retry-After instead
        raise QueueUnavailable()
    with transaction.atomic():
        job = BatchJob.objects.create(user=caller.user,  # type: ignore[misc]  # signed in: key_or_token auth
                                      options=options, callback_url=callback_url, ip=caller.ip,
                                      test_mode=caller.test_mode)
        items = [Item(job=job, index=index, filename=name[:255], source=_source_save(job, index, name, data))
                 for index, (name, data) in enumerate(files)]
        items += [Item(job=job, index=len(files) + index, filename="", source_url=url)
                  for index, url in enumerate(urls)]
        Item.objects.bulk_create(items)
    _items_enqueue(job)
    return job


def _items_enqueue(job: BatchJob) -> None:
    """One task per item, after the rows are committed (a worker may start at once). A broker that
    cannot take them gets the job discarded and a 503: better than a job that never starts."""
    try:
        for item_id in job.items.values_list("pk", flat=True):
            current_app.send_task(ITEM_TASK, args=[item_id])
    except OperationalError as exc:
        files_delete(job.items.values_list("source", flat=True))
        job.delete()  # a task already sent finds no item and does nothing
        raise QueueUnavailable() from exc


# --- read, list, cancel ----------------------------------------------------------------------


def job_get(*, user, job_id: str) -> BatchJob:
    """The caller's job; another user's job is "not found", exactly like a missing one."""
    job = BatchJob.objects.filter(pk=job_id, user=user).first()
    if job is None:
        raise JobNotFound()
    return job


@dataclass(frozen=True)
class JobPage:
    jobs: list[BatchJob]
    page: int
    pages: int
    total: int


def jobs_list(*, user, page: int) -> JobPage:
    """The caller's jobs, newest first, JOBS_PAGE_SIZE a page."""
    paginator = Paginator(BatchJob.objects.filter(user=user).order_by("-created", "-pk"),
                          settings.JOBS_PAGE_SIZE)
    try:
        current = paginator.page(page)
    except EmptyPage:
        if page < 1:
            raise ValidationFailed([("page", f"'page' must be at least 1, got: {page}")]) from None
        return JobPage(jobs=[], page=page, pages=paginator.num_pages, total=paginator.count)
    return JobPage(jobs=list(current.object_list), page=page, pages=paginator.num_pages,
                   total=paginator.count)


def job_cancel(*, user, job_id: str) -> BatchJob:
    """Cancel every item no worker has started (they cost nothing); running items finish."""
    job = job_get(user=user, job_id=job_id)
    job.items.filter(status=Item.Status.QUEUED).update(status=Item.Status.CANCELLED, finished=timezone.now())
    job_settle(job_id=job.pk)
    job.refresh_from_db()
    return job


# --- the worker side -------------------------------------------------------------------------


def _item_claim(item_id: int) -> Item | None:
    """Mark the item running (again, when re-delivered after a worker died); None when there is
    nothing to do: cancelled, already settled, or purged."""
    claimed = Item.objects.filter(pk=item_id, status__in=_UNFINISHED).update(
        status=Item.Status.RUNNING, attempts=F("attempts") + 1, started=timezone.now())
    if not claimed:
        return None
    item = Item.objects.select_related("job", "job__user").get(pk=item_id)
    BatchJob.objects.filter(pk=item.job_id, status=BatchJob.Status.QUEUED).update(
        status=BatchJob.Status.RUNNING)
    return item


def _source_read(name: str) -> bytes:
    with default_storage.open(name, "rb") as handle:
        return handle.read()


def _result_save(item: Item, result: RenderResult) -> str:
    ext = _EXTENSIONS[result.format]
    name = f"batch/{item.job.user_id}/{item.job_id}/out-{item.index}-{secrets.token_hex(4)}.{ext}"
    return default_storage.save(name, ContentFile(result.data))


async def _item_cutout(item: Item) -> None:
    """The one charged cut-out (cutouts.service) for the job's owner, as the key that submitted it (a
    test key: small and never charged). The result is stored and the item recorded done before the
    charge commits; a re-run of the same item is charged once (the idempotency key)."""
    job = item.job
    caller = Caller(user=job.user, source="api", ip=job.ip, test_mode=job.test_mode)
    data, filename = await _item_source(item)

    async def keep(cutout) -> None:
        name = await sync_to_async(_result_save)(item, cutout.result)
        await sync_to_async(_item_done)(item, cutout.result, name)

    await cutout_charged(caller=caller, data=data, filename=filename, options=options_parse(job.options),
                         where="batch item", idempotency_key=f"batch-{job.pk}-{item.index}", keep=keep)


async def _item_source(item: Item) -> tuple[bytes, str]:
    """The item's bytes and file name: its upload, or its `image_url` downloaded now through the one
    SSRF-safe fetcher (a refusal or a failed download fails the item, uncharged)."""
    if item.source_url:
        fetched = await image_fetch(url=item.source_url)
        return fetched.data, fetched.filename
    return await sync_to_async(_source_read)(item.source), item.filename


def _item_done(item: Item, result: RenderResult, name: str) -> None:
    Item.objects.filter(pk=item.pk).update(
        status=Item.Status.DONE, result=name, content_type=result.content_type, width=result.width,
        height=result.height, bytes=len(result.data), error=None, finished=timezone.now())


def _item_failed(item: Item, exc) -> None:
    body = error_body(status=exc.status, message=exc.message, details=exc.details)
    result = Item.objects.filter(pk=item.pk).values_list("result", flat=True).first()
    files_delete([result] if result else [])  # stored, but its charge did not commit: not delivered
    Item.objects.filter(pk=item.pk).update(status=Item.Status.FAILED, result="", error=body,
                                           finished=timezone.now())


def item_process(*, item_id: int) -> None:
    """One item, on a worker (the Celery task's body). Safe to run again for the same item."""
    item = _item_claim(item_id)
    if item is None:
        return
    started = time.perf_counter()
    try:
        async_to_sync(_item_cutout)(item)
    except DOMAIN_ERRORS as exc:  # the service already turned anything unexpected into ProcessingFailed
        _item_failed(item, exc)
        metrics.item_timed(outcome="failed", seconds=time.perf_counter() - started)
    else:
        metrics.item_timed(outcome="done", seconds=time.perf_counter() - started)
    job_settle(job_id=item.job_id)


def item_abandon(*, item_id: int) -> None:
    """The task gave up on an item after its retries: failed, charged nothing, the job settles."""
    unfinished = Item.objects.filter(pk=item_id, status__in=_UNFINISHED)
    body = error_body(status=500, message=PROCESSING_FAILED)
    if unfinished.update(status=Item.Status.FAILED, error=body, finished=timezone.now()):
        job_settle(job_id=Item.objects.get(pk=item_id).job_id)


def _job_status(statuses: set[str]) -> str:
    if statuses & _UNFINISHED:
        started = statuses - {Item.Status.QUEUED}
        return BatchJob.Status.RUNNING if started else BatchJob.Status.QUEUED
    if Item.Status.CANCELLED in statuses:
        return BatchJob.Status.CANCELLED
    if statuses == {Item.Status.DONE}:
        return BatchJob.Status.DONE
    return BatchJob.Status.FAILED if statuses == {Item.Status.FAILED} else BatchJob.Status.PARTIAL


def job_settle(*, job_id: str) -> None:
    """Recompute the job's status; the one caller that finishes it (an atomic UPDATE) sends the webhook."""
    statuses = set(Item.objects.filter(job_id=job_id).values_list("status", flat=True))
    status = _job_status(statuses)
    unfinished = BatchJob.objects.filter(pk=job_id, finished__isnull=True)
    if status in (BatchJob.Status.QUEUED, BatchJob.Status.RUNNING):
        unfinished.update(status=status)
        return
    event_id = f"evt_{secrets.token_hex(12)}"
    if unfinished.update(status=status, finished=timezone.now(), event_id=event_id):
        if BatchJob.objects.filter(pk=job_id).exclude(callback_url="").exists():
            transaction.on_commit(lambda: current_app.send_task(WEBHOOK_TASK, args=[job_id]))


# --- the job as JSON -------------------------------------------------------------------------


def _unix(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment else None


def result_url(item: Item, *, base_url: str) -> str:
    """A signed, expiring URL of the result: S3's presigned URL, or our own signed link to local files."""
    download = f"{os.path.splitext(item.filename)[0]}.{item.result.rsplit('.', 1)[-1]}"
    remote = signed_url(item.result, content_type=item.content_type, download_name=download)
    if remote:
        return remote
    token = signing.dumps({"n": item.result, "ct": item.content_type}, salt=_RESULT_SALT, compress=True)
    return f"{base_url}/api/jobs/results/{token}"


def result_open(*, token: str) -> tuple[object, str]:
    """The file and content type a signed local result link names (ResultLinkInvalid when expired)."""
    try:
        payload = signing.loads(token, salt=_RESULT_SALT, max_age=settings.JOBS_RESULT_URL_MAX_AGE)
        return default_storage.open(payload["n"], "rb"), payload["ct"]
    except (signing.BadSignature, KeyError, TypeError, OSError):
        raise ResultLinkInvalid() from None


def item_view(item: Item, *, base_url: str) -> dict:
    view = {"index": item.index, "filename": item.filename, "status": item.status, "attempts": item.attempts}
    if item.status == Item.Status.DONE:
        view |= {"url": result_url(item, base_url=base_url), "content_type": item.content_type,
                 "width": item.width, "height": item.height, "bytes": item.bytes}
    if item.error:
        view["error"] = item.error
    return view


def _callback_view(job: BatchJob) -> dict | None:
    if not job.callback_url:
        return None
    return {"url": job.callback_url, "attempts": job.callback_attempts,
            "last_status": job.callback_last_status, "delivered_at": _unix(job.callback_delivered_at)}


def job_view(job: BatchJob, *, base_url: str = "", items: bool = True) -> dict:
    """The job as the API, the list and the webhook show it. Links start with `base_url` (the address
    the client used), SITE_URL when there is no request (the webhook)."""
    base_url = base_url or settings.SITE_URL
    rows = list(job.items.all())
    counts = {status: sum(1 for row in rows if row.status == status) for status in Item.Status.values}
    # Until the job is settled its status is read from the same rows as its counts, so a 202 never
    # says "queued" beside an item a worker has already started.
    status = job.status if job.finished else _job_status({row.status for row in rows})
    view: dict[str, object] = {"id": job.pk, "object": "job", "status": status, "created": _unix(job.created),
            "finished": _unix(job.finished), "counts": counts, "callback": _callback_view(job),
            "status_url": f"{base_url}/api/jobs/{job.pk}"}
    if items:
        view["items"] = [item_view(row, base_url=base_url) for row in rows]
    return view


# --- webhooks --------------------------------------------------------------------------------


def _event_body(job: BatchJob) -> bytes:
    event = {"id": job.event_id, "type": "job.completed", "created": _unix(job.finished),
             "data": job_view(job)}
    return json.dumps(event, separators=(",", ":")).encode()


def webhook_attempt(*, job_id: str) -> float | None:
    """One delivery attempt of the job's event. None when there is nothing more to do (delivered,
    gone, or retried for JOBS_WEBHOOK_RETRY_HOURS); else the seconds to wait before the next one."""
    job = BatchJob.objects.select_related("user").filter(pk=job_id).first()
    if job is None or job.callback_delivered_at or not job.finished:
        return None
    delivery = webhooks.webhook_post(url=job.callback_url, body=_event_body(job), event_id=job.event_id,
                                     secret=webhook_secret_get(user=job.user))
    attempts = job.callback_attempts + 1
    delivered = timezone.now() if delivery.ok else None
    BatchJob.objects.filter(pk=job.pk).update(callback_attempts=attempts,
                                              callback_last_status=delivery.status,
                                              callback_delivered_at=delivered)
    if delivery.ok:
        return None
    wait = webhooks.backoff_seconds(attempts)
    give_up_at = job.finished + timedelta(hours=settings.JOBS_WEBHOOK_RETRY_HOURS)
    return wait if timezone.now() + timedelta(seconds=wait) <= give_up_at else None


# --- retention -------------------------------------------------------------------------------


def jobs_purge(*, now: datetime | None = None, hours: int | None = None) -> int:
    """Delete jobs older than JOBS_RETENTION_HOURS with their uploaded and result files."""
    cutoff = (now or timezone.now()) - timedelta(hours=hours or settings.JOBS_RETENTION_HOURS)
    old = BatchJob.objects.filter(created__lt=cutoff)
    names = [name for pair in Item.objects.filter(job__in=old).values_list("source", "result")
             for name in pair if name]
    count = old.count()
    files_delete(names)
    old.delete()
    return count
