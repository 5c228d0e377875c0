"""Reading jobs: only ever through the owner."""

from django.urls import reverse

from editor.models import EditorJob

RECENT_JOBS = 12


def job_get(*, user, job_id) -> EditorJob:
    """The user's job; EditorJob.DoesNotExist for anyone else's (the views answer 404)."""
    return EditorJob.objects.get(pk=job_id, user=user)


async def job_aget(*, user, job_id) -> EditorJob:
    return await EditorJob.objects.aget(pk=job_id, user=user)


def jobs_done(*, user, job_ids) -> list[EditorJob]:
    """The user's processed jobs among `job_ids`, in the order asked (others' ids are not there)."""
    found = {job.pk: job for job in _processed(user).filter(pk__in=job_ids)}
    return [found[pk] for pk in job_ids if pk in found]


def jobs_recent(*, user, limit: int = RECENT_JOBS) -> list[EditorJob]:
    return list(_processed(user)[:limit])


def _processed(user):
    """Jobs with a result, a re-render of it in flight or not: a job stays in Recent while it renders."""
    return EditorJob.objects.filter(user=user).exclude(result="").exclude(stage=EditorJob.Stage.ERROR)


def job_file_url(job: EditorJob, kind: str, *, download: bool = False) -> str:
    url = reverse("editor:job_file", args=[job.pk, kind])
    return f"{url}?v={job.renders}" + ("&download=1" if download else "")


def job_state(*, job: EditorJob) -> dict:
    """Everything the page needs to show a job, as JSON (upload response, GET, `done` events)."""
    state = {
        "id": str(job.pk),
        "stage": job.stage,
        "created": job.created_at.isoformat() if job.created_at else None,
        "charged": job.charged,
        "options": job.options,
        "error": {"error": job.error_message, "status": job.error_status} if job.error_message else None,
        "original": None,
        "result": None,
        "touchups": {"strokes": job.strokes or [], "background_fit": job.background_fit,
                     "background_url": job_file_url(job, "background") if job.background else None},
    }
    if job.original:
        state["original"] = {
            "name": job.original_name, "url": job_file_url(job, "original"), "format": job.original_format,
            "width": job.original_width, "height": job.original_height, "size": job.original_size,
            "mask_url": job_file_url(job, "mask") if job.mask else None,
        }
    if job.result:
        state["result"] = {
            "url": job_file_url(job, "result"), "download_url": job_file_url(job, "result", download=True),
            "thumbnail_url": job_file_url(job, "thumbnail"), "format": job.result_format,
            "content_type": job.result_content_type, "width": job.result_width, "height": job.result_height,
            "size": job.result_size, "filename": job_download_name(job),
            "refine": job.refine or None, "refine_reason": job.refine_reason or None,
        }
    return state


def job_download_name(job: EditorJob) -> str:
    stem = job.original_name.rsplit(".", 1)[0] or "image"
    ext = {"jpeg": "jpg"}.get(job.result_format, job.result_format)
    return f"{stem}-cutout.{ext}"
