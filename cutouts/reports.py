"""Reports of bad cut-outs: a user sends a result and its original (and the editor's mask), with consent
and an optional note, to an operator queue in the admin, to review, export as a set, and refund the
credit if the operator chooses (a ledger grant, recorded once).

Every caller (the editor's button, a batch item, an Idempotency-Key'd /rmbg answer) passes the storage
names of what it kept; the report copies them under `reports/<id>/`, so discarding the job or the
answer's expiry keeps the report whole. Reports follow the editor's retention (EDITOR_RETENTION_DAYS,
`manage.py editor_purge`).
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
from core.storage import expired_delete
from cutouts.errors import ReportConsentMissing, ReportNoResult, ReportNoteTooLong
from cutouts.models import Report

NOTE_MAX = 2000
CONSENT_VALUES = ("true", "1", "yes", "on")


def consent_parse(value) -> bool:
    """A form's or JSON's consent: true, "true", "1", "yes", "on" (a ticked checkbox)."""
    return value is True or str(value).strip().lower() in CONSENT_VALUES


def _copy(name: str, report_id, kind: str) -> str:
    suffix = PurePosixPath(name).suffix
    with default_storage.open(name, "rb") as handle:
        return default_storage.save(f"reports/{report_id}/{kind}{suffix}", ContentFile(handle.read()))


def report_check(*, consent: bool, note: str) -> str:
    """The user's consent and note, refused before anything is looked up; the note as kept."""
    if not consent:
        raise ReportConsentMissing()
    note = note.strip()
    if len(note) > NOTE_MAX:
        raise ReportNoteTooLong()
    return note


def report_create(*, user_id: int, source: str, source_ref: str, result: str, result_content_type: str,
                  original: str = "", mask: str = "", original_name: str = "", original_url: str = "",
                  options: dict | None = None, consent: bool, note: str = "") -> Report:
    """Copy the stored `original`, `mask` and `result` (storage names) for the operators."""
    note = report_check(consent=consent, note=note)
    if not result:
        raise ReportNoResult()
    report = Report(user_id=user_id, source=source, source_ref=source_ref, note=note, options=options or {},
                    original_name=original_name[:255], original_url=original_url,
                    result_content_type=result_content_type)
    report.original = _copy(original, report.id, "original") if original else ""
    report.result = _copy(result, report.id, "result")
    report.mask = _copy(mask, report.id, "mask") if mask else ""
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
            about = (f"source: {report.source} {report.source_ref}\nfile: {report.original_name}\n"
                     f"url: {report.original_url}\noptions: {report.options}\nnote: {report.note}\n")
            archive.writestr(f"{report.pk}/report.txt", about)
    return buffer.getvalue()


def reports_purge(*, now: datetime | None = None, days: int | None = None) -> int:
    """Delete reports (rows and copies) of every source older than the editor's retention."""
    return expired_delete(Report.objects.all(), now=now, days=days)
