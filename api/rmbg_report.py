"""Report a bad /rmbg cut-out by the Idempotency-Key it was made with (cutouts.reports).

The answer's record is found exactly as a replay finds it (operation "rmbg", the caller's scope), so
another caller's key is simply not found. The record keeps the original and the result beside the
stored body for IDEMPOTENCY_TTL (24 h): after that, or for an answer made without a key, there is
nothing to report.
"""

from api.idempotency import MAX_KEY_LENGTH, record_done
from core.errors import DomainError
from cutouts.errors import ReportTestKey
from cutouts.models import Report
from cutouts.reports import report_check, report_create
from removal.errors import ValidationFailed


class RmbgResultNotFound(DomainError):
    status = 404
    message = ("No /rmbg result of yours with this Idempotency-Key. Results are kept 24 hours, and only "
               "for requests sent with an Idempotency-Key.")


def rmbg_report(*, caller, idempotency_key: str, consent: bool, note: str) -> Report:
    if not 1 <= len(idempotency_key) <= MAX_KEY_LENGTH:
        raise ValidationFailed([("idempotency_key", f"Send the Idempotency-Key of the /rmbg request "
                                                    f"(1 to {MAX_KEY_LENGTH} characters).")])
    report_check(consent=consent, note=note)
    if caller.test_mode:
        raise ReportTestKey()
    record = record_done(caller=caller, operation="rmbg", key=idempotency_key)
    if record is None or not record.get("report"):
        raise RmbgResultNotFound()
    kept = record["report"]
    return report_create(
        user_id=caller.user.pk, source=Report.Source.RMBG, source_ref=record["id"], original=kept["original"],
        original_name=kept["original_name"], original_url=kept["original_url"], result=kept["result"],
        result_content_type=kept["result_content_type"], options=kept["options"], consent=consent, note=note)
