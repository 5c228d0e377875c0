"""Report a batch item's bad cut-out (cutouts.reports): its result and its uploaded original.

An item submitted as `image_url` has no stored original (the worker downloads it and keeps only the
result): its report keeps the result and the URL, for the operator to fetch if still there.
"""

from pathlib import PurePosixPath
from urllib.parse import urlsplit

from cutouts.errors import ReportNoResult, ReportTestKey
from cutouts.models import Report
from cutouts.reports import report_check, report_create
from jobs.errors import ItemNotFound
from jobs.models import Item
from jobs.services import job_get


def item_report(*, user, job_id: str, index: int, consent: bool, note: str) -> Report:
    report_check(consent=consent, note=note)
    job = job_get(user=user, job_id=job_id)
    item = job.items.filter(index=index).first()
    if item is None:
        raise ItemNotFound()
    if job.test_mode:
        raise ReportTestKey()
    if item.status != Item.Status.DONE:
        raise ReportNoResult()
    name = item.filename or PurePosixPath(urlsplit(item.source_url).path).name
    return report_create(
        user_id=job.user_id, source=Report.Source.BATCH, source_ref=f"{job.pk}/{item.index}",
        original=item.source, original_url=item.source_url, original_name=name, result=item.result,
        result_content_type=item.content_type, options=job.options, consent=consent, note=note)
