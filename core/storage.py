"""Where uploaded files live: the local filesystem by default, S3-compatible object storage when
AWS_STORAGE_BUCKET_NAME is set (AWS, MinIO, Ceph, R2, ... through django-storages).

Objects are private (`default_acl="private"`); the editor hands its owner a short-lived signed URL
(`querystring_expire`, 300 s by default) instead of streaming the bytes through the web process.
"""

import functools
import logging
from datetime import datetime, timedelta
from typing import Any, cast
from urllib.parse import urlsplit

from django.conf import settings
from django.core.files.storage import default_storage
from django.utils import timezone
from django.utils.http import content_disposition_header

S3_BACKEND = "storages.backends.s3.S3Storage"

log = logging.getLogger(__name__)


def s3_options(*, bucket: str, endpoint_url: str = "", region: str = "", location: str = "",
               addressing_style: str = "", expire: int = 300, access_key: str = "",
               secret_key: str = "") -> dict:
    """OPTIONS for django-storages' S3Storage. Keys left empty fall back to boto3's own chain
    (environment, ~/.aws, instance or task role)."""
    options = {
        "bucket_name": bucket,
        "default_acl": "private",
        "querystring_auth": True,
        "querystring_expire": expire,
        "signature_version": "s3v4",
        "file_overwrite": True,  # names carry a random part (editor.services); saves a HEAD per save
        "location": location,
        "object_parameters": {"CacheControl": "private, max-age=3600"},
    }
    optional = {"endpoint_url": endpoint_url, "region_name": region, "addressing_style": addressing_style,
                "access_key": access_key, "secret_key": secret_key}
    return options | {key: value for key, value in optional.items() if value}


def storage_is_remote() -> bool:
    return settings.STORAGES["default"]["BACKEND"] == S3_BACKEND


def signed_url(name: str, *, content_type: str = "", download_name: str = "") -> str | None:
    """A short-lived URL for a stored file, or None when files are local (the caller streams)."""
    if not storage_is_remote():
        return None
    parameters: dict[str, str | None] = {}
    if content_type:
        parameters["ResponseContentType"] = content_type
    if download_name:
        parameters["ResponseContentDisposition"] = content_disposition_header(True, download_name)
    remote = cast(Any, default_storage)  # django-storages' S3Storage (untyped): its url() takes `parameters`
    return remote.url(name, parameters=parameters or None)


@functools.cache
def storage_origin() -> str:
    """scheme://host of signed URLs (for the CSP's img-src), '' when files are local.

    Signing is offline, so asking boto3 for one URL gives the exact host, whatever the endpoint
    and addressing style.
    """
    if not storage_is_remote():
        return ""
    parts = urlsplit(default_storage.url("csp-probe"))
    return f"{parts.scheme}://{parts.netloc}"


def files_delete(names) -> None:
    """Delete stored files (the editor's and batch jobs' purges); one that cannot be is logged, not fatal."""
    for name in names:
        try:
            default_storage.delete(name)
        except OSError:
            log.warning("could not delete %s", name, exc_info=True)


def expired_delete(rows, *, now: datetime | None = None, days: int | None = None) -> int:
    """Delete the `rows` (with `created_at` and `storage_names`) older than the editor's retention
    (EDITOR_RETENTION_DAYS, or `days`), files first: editor jobs and cut-out reports. Returns how many."""
    days = settings.EDITOR_RETENTION_DAYS if days is None else days
    cutoff = (now or timezone.now()) - timedelta(days=days)
    purged = 0
    for row in rows.filter(created_at__lt=cutoff).iterator():
        files_delete(row.storage_names)
        row.delete()
        purged += 1
    return purged
