"""Reports of bad cut-outs: a user sends a job's original, mask and result (with consent and an
optional note) to an operator queue in the admin, to review, export with the masks as a set, and
refund the credit if the operator chooses (a ledger grant, recorded once).

Reports are copies under `reports/<id>/`: discarding the job keeps the report whole; they follow the
editor's retention (EDITOR_RETENTION_DAYS, `manage.py jobs_purge`).
"""

import io
import zipfile
from datetime import datetime
from pathlib import PurePosixPath

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from billing.grants import credits_grant
from editor.errors import JobNotReady, ReportConsentMissing, ReportNoteTooLong
from editor.models import Job, Report
from editor.services import expired_delete

NOTE_MAX = 2000


def _copy(name: str, report_id, kind: str) -> str:
    suffix = PurePosixPath(name).suffix
    with default_storage.open(name, "rb") as handle:
        return default_storage.save(f"reports/{report_id}/{kind}{suffix}", ContentFile(handle.read()))


def report_create(*, job: Job, consent: bool, note: str = "") -> Report:
    """The job's current original, mask and result, copied for the operators."""
    if not consent:
        raise ReportConsentMissing()
    note = note.strip()
    if len(note) > NOTE_MAX:
        raise ReportNoteTooLong()
    if job.stage != Job.Stage.DONE or not job.result or not job.original:
        raise JobNotReady()
    report = Report(user_id=job.user_id, job=job, note=note, options=job.options,
                    original_name=job.original_name, result_content_type=job.result_content_type)
    report.original = _copy(job.original, report.id, "original")
    report.result = _copy(job.result, report.id, "result")
    report.mask = _copy(job.mask, report.id, "mask") if job.mask else ""
    report.save()
    return report


def report_review(*, report: Report, by: AbstractBaseUser) -> None:
    if report.reviewed_at is None:
        report.reviewed_at = timezone.now()
        report.reviewed_by = by.get_username()
        report.save(update_fields=["reviewed_at", "reviewed_by"])


def report_refund(*, report: Report, by: AbstractBaseUser) -> bool:
    """Give the reporter their credit back, once (a ledger grant like the admin's). False if done."""
    if report.refund_key:
        return False
    key = f"report:refund:{report.pk}"
    credits_grant(user_id=report.user_id, credits=1, reason=f"refund for bad cut-out report {report.pk}",
                  granted_by=by, idempotency_key=key)
    report.refund_key = key
    report.save(update_fields=["refund_key"])
    report_review(report=report, by=by)
    return True


def reports_zip(*, reports) -> bytes:
    """original / mask / result of each report, one folder each, plus the note and options."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for report in reports:
            for kind in ("original", "mask", "result"):
                name = getattr(report, kind)
                if name:
                    with default_storage.open(name, "rb") as handle:
                        archive.writestr(f"{report.pk}/{kind}{PurePosixPath(name).suffix}", handle.read())
            about = f"file: {report.original_name}\noptions: {report.options}\nnote: {report.note}\n"
            archive.writestr(f"{report.pk}/report.txt", about)
    return buffer.getvalue()


def reports_purge(*, now: datetime | None = None, days: int | None = None) -> int:
    """Delete reports (rows and copies) older than the editor's retention. Returns how many."""
    return expired_delete(Report.objects.all(), now=now, days=days)
