"""Many results in one download: a ZIP of the owner's selected, processed jobs."""

import uuid
import zipfile
from io import BytesIO

from django.core.files.storage import default_storage

from editor.errors import EditorError
from editor.selectors import job_download_name, jobs_done

MAX_JOBS = 100


class NothingToZip(EditorError):
    status = 400
    message = "Select at least one processed image to download."


def job_ids_parse(raw: str) -> list[uuid.UUID]:
    """`id,id,…` → UUIDs (at most MAX_JOBS, duplicates dropped); NothingToZip when none is valid."""
    ids: list[uuid.UUID] = []
    for part in raw.split(",")[:MAX_JOBS]:
        try:
            ids.append(uuid.UUID(part.strip()))
        except ValueError:
            continue
    ids = list(dict.fromkeys(ids))
    if not ids:
        raise NothingToZip()
    return ids


def _unique(name: str, taken: set[str]) -> str:
    stem, dot, ext = name.rpartition(".")
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{stem}-{n}.{ext}" if dot else f"{name}-{n}"
    taken.add(candidate)
    return candidate


def jobs_zip(*, user, job_ids: list[uuid.UUID]) -> bytes:
    """The ZIP of the user's processed jobs among `job_ids` (anyone else's are simply absent)."""
    jobs = jobs_done(user=user, job_ids=job_ids)
    if not jobs:
        raise NothingToZip()
    buffer, taken = BytesIO(), set[str]()
    # Stored, not deflated: the results are already compressed images.
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for job in jobs:
            with default_storage.open(job.result, "rb") as handle:
                archive.writestr(_unique(job_download_name(job), taken), handle.read())
    return buffer.getvalue()
