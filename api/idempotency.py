"""`Idempotency-Key` on POST /rmbg (SPEC §7): a retry replays the first answer, never a second charge.

A key is scoped to the operation (`/rmbg` and `/api/jobs` never share a record: the same key sent
to both runs both) and to the caller (user, plus a separate scope for test keys; the client IP for
anonymous calls). The first request with a key claims it atomically (SET NX) in state
"running"; a duplicate arriving meanwhile gets 409, one with the same key but another request
(fingerprint: every form field + the image bytes or image_url + JSON mode) gets 422. When the
first succeeds its status, headers and body are kept for IDEMPOTENCY_TTL (24 h) and replayed
byte for byte with `Idempotent-Replayed: true`. A failed first attempt frees the key (it was
not charged), so the client's retry runs again.

Why Redis for the record and not the database: the claim must be one atomic step across
processes (SET NX), expiry is native (no sweeper for records), and Redis already gates every
charge, so an outage refuses the request (503) exactly as billing does. The body itself can
be megabytes: it goes to the default storage (files or S3) under `idempotency/`, and
`manage.py idempotency_purge` deletes bodies older than the TTL. A /rmbg answer also keeps its original
image (and, for a JSON answer, the result image) beside the body, under the same purge, so the caller
can report a bad cut-out by key (POST /rmbg/report).

The check runs before the short-term rate limit: a replay or a 409 costs no request quota.
"""

import hashlib
import json
import logging
import mimetypes
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import PurePosixPath

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.http import HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.utils.text import get_valid_filename

from api.response_shape import json_wanted
from billing import redis_client as rc
from core.errors import DomainError

logger = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
STORAGE_DIR = "idempotency"
# A request still "running" after this long died with its process: the key becomes usable again.
RUNNING_TTL = 15 * 60
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class IdempotencyKeyInvalid(DomainError):
    status = 400


class IdempotencyKeyInUse(DomainError):
    status = 409
    message = ("A request with this Idempotency-Key is still being processed. "
               "Retry once it has finished.")


class IdempotencyKeyReused(DomainError):
    status = 422
    message = ("This Idempotency-Key was already used with a different request. "
               "Use a new key for a new request.")


@dataclass(frozen=True)
class _Claim:
    redis_key: str
    value: str  # the exact "running" record we wrote, so only we release it


@dataclass(frozen=True)
class ReportMaterial:
    """What a report of this answer needs later: kept beside the stored body (POST /rmbg/report)."""

    original: bytes
    original_name: str
    result: bytes
    result_content_type: str
    options: dict[str, str] = field(default_factory=dict)
    original_url: str = ""


_MATERIAL = "_idempotency_report_material"


def report_material_attach(response: HttpResponse, material: ReportMaterial) -> None:
    """Ask `idempotent` to keep `material` with the answer when the request carried a key."""
    setattr(response, _MATERIAL, material)


def caller_scope(caller) -> str:
    """Whose keys these are: a user (live and test keys apart), or an anonymous client's IP."""
    if caller.user is None:
        return f"ip:{caller.ip}"
    return f"user:{caller.user.pk}:test" if caller.test_mode else f"user:{caller.user.pk}"


async def idempotent(request, *, caller, operation: str,
                     run: Callable[[], Awaitable[HttpResponse]]) -> HttpResponse:
    """Answer with `run()`, or with the stored answer of an earlier `operation` request with the same key."""
    key = request.headers.get(HEADER)
    if key is None:
        return await run()
    _key_check(key)
    mode = "json" if json_wanted(request.headers.get("Accept", "")) else "bytes"  # another answer
    fingerprint = await sync_to_async(request_fingerprint, thread_sensitive=False)(request, extra=mode)
    if fingerprint is None:
        return await run()  # an unreadable form: the handler answers it with its own 400
    digest = hashlib.sha256(key.encode()).hexdigest()
    redis_key = rc.idempotency_key(operation=operation, scope=caller_scope(caller), digest=digest)
    claim = await sync_to_async(_claim_or_record)(redis_key, fingerprint)
    if not isinstance(claim, _Claim):
        return await sync_to_async(_replay)(claim)
    try:
        response = await run()
    except BaseException:
        await sync_to_async(_release)(claim)
        raise
    try:
        await sync_to_async(_store)(claim, fingerprint, response)
    except Exception:  # the answer (and its charge) stands; only a later replay is lost
        logger.exception("could not keep the answer for an Idempotency-Key; the key is freed")
        await sync_to_async(_release)(claim)
    return response


def _key_check(key: str) -> None:
    if not 1 <= len(key) <= MAX_KEY_LENGTH:
        raise IdempotencyKeyInvalid(
            f"{HEADER} must be 1 to {MAX_KEY_LENGTH} characters long, got {len(key)}."
        )


def request_fingerprint(request, *, extra: str) -> str | None:
    """A hash of what makes two requests "the same": the fields, the image bytes, `extra`."""
    try:
        fields = sorted((name, value) for name in request.POST for value in request.POST.getlist(name))
        # in the order sent: a batch's items are numbered by it (and uploads do not sort)
        files = [(name, upload) for name in sorted(request.FILES) for upload in request.FILES.getlist(name)]
    except (MultiPartParserError, SuspiciousOperation):
        return None
    digest = hashlib.sha256(json.dumps([fields, extra]).encode())
    for name, upload in files:
        digest.update(f"\0file:{name}:{upload.name}:{upload.size}\0".encode())
        for chunk in upload.chunks():
            digest.update(chunk)
        upload.seek(0)  # the handler reads the same file next
    return digest.hexdigest()


def _claim_or_record(redis_key: str, fingerprint: str) -> _Claim | dict:
    """Claim the key (state "running"), or return the record already there."""
    value = json.dumps({"state": "running", "fp": fingerprint, "id": uuid.uuid4().hex})
    client = rc.client_get()
    with rc.unavailable_on_error():
        if client.set(redis_key, value, nx=True, ex=RUNNING_TTL):
            return _Claim(redis_key=redis_key, value=value)
        stored = client.get(redis_key)
    if stored is None:  # expired between the two calls: claim again
        return _claim_or_record(redis_key, fingerprint)
    record = json.loads(stored)
    if record["fp"] != fingerprint:
        raise IdempotencyKeyReused()
    if record["state"] != "done":
        raise IdempotencyKeyInUse(headers={"Retry-After": "1"})
    return record


def _release(claim: _Claim) -> None:
    rc.call(lambda r: r.eval(_RELEASE, 1, claim.redis_key, claim.value))


def _extension(content_type: str) -> str:
    return mimetypes.guess_extension(content_type.split(";")[0].strip()) or ""


def _material_store(base: str, body_name: str, response: HttpResponse, material: ReportMaterial) -> dict:
    """The original (and the result, when the body is JSON rather than the image) beside the body."""
    suffix = PurePosixPath(get_valid_filename(material.original_name) or "x").suffix.lower()[:8]
    original = default_storage.save(f"{base}.original{suffix}", ContentFile(material.original))
    result = body_name
    if response.content != material.result:
        result = default_storage.save(f"{base}.result{_extension(material.result_content_type)}",
                                      ContentFile(material.result))
    return {"original": original, "original_name": material.original_name,
            "original_url": material.original_url, "result": result,
            "result_content_type": material.result_content_type, "options": material.options}


def _store(claim: _Claim, fingerprint: str, response: HttpResponse) -> None:
    digest = claim.redis_key.rsplit(":", 1)[1]
    base = f"{STORAGE_DIR}/{digest[:2]}/{digest}-{uuid.uuid4().hex[:8]}"
    name = default_storage.save(f"{base}{_extension(response.get('Content-Type', ''))}",
                                ContentFile(response.content))
    headers = [(name_, value) for name_, value in response.items()]
    record = {"state": "done", "fp": fingerprint, "status": response.status_code, "headers": headers,
              "name": name, "id": json.loads(claim.value)["id"]}
    material = response.__dict__.pop(_MATERIAL, None)  # stored once, then not held by the response
    if material is not None and response.status_code == 200:
        record["report"] = _material_store(base, name, response, material)
    rc.call(lambda r: r.set(claim.redis_key, json.dumps(record), ex=settings.IDEMPOTENCY_TTL))


def _replay(record: dict) -> HttpResponse:
    with default_storage.open(record["name"], "rb") as stored:
        body = stored.read()
    response = HttpResponse(body, status=record["status"])
    for name, value in record["headers"]:
        response[name] = value
    response[REPLAYED_HEADER] = "true"
    return response


def record_done(*, caller, operation: str, key: str) -> dict | None:
    """The caller's finished record of `key` for `operation`, scoped exactly as a replay is; else None."""
    digest = hashlib.sha256(key.encode()).hexdigest()
    redis_key = rc.idempotency_key(operation=operation, scope=caller_scope(caller), digest=digest)
    stored = rc.call(lambda r: r.get(redis_key))
    record = json.loads(stored) if stored else None
    return record if record and record["state"] == "done" else None


def idempotency_purge(*, now: datetime | None = None) -> int:
    """Delete stored answers older than IDEMPOTENCY_TTL (their Redis records have expired).

    Names are `idempotency/<2 hex>/<digest>-<id>`: two levels to list, files or S3 alike.
    """
    cutoff = (now or datetime.now(UTC)) - timedelta(seconds=settings.IDEMPOTENCY_TTL + 3600)
    purged = 0
    try:  # not exists(): on S3 a prefix is no object, so exists() said False and nothing was ever purged
        shards, _files = default_storage.listdir(STORAGE_DIR)
    except FileNotFoundError:  # local files, nothing stored yet
        shards = []
    for shard in shards:
        for name in default_storage.listdir(f"{STORAGE_DIR}/{shard}")[1]:
            path = f"{STORAGE_DIR}/{shard}/{name}"
            if default_storage.get_modified_time(path) < cutoff:
                default_storage.delete(path)
                purged += 1
    return purged
