"""Refusals of a report of a bad cut-out, for every caller (the editor, a batch item, /rmbg)."""

from core.errors import DomainError


class ReportError(DomainError):
    message = "Report refused"


class ReportConsentMissing(ReportError):
    status = 400
    message = "Tick the box to agree to send this image and its cut-out to the operators."


class ReportNoteTooLong(ReportError):
    status = 400
    message = "The note is too long (2000 characters at most)."


class ReportNoResult(ReportError):
    status = 409
    message = "There is no finished cut-out to report: only a delivered result can be reported."


class ReportTestKey(ReportError):
    """A test key's cut-outs are free and small: nothing to refund, and the queue is for real results."""

    status = 403
    message = "Cut-outs made with a test key cannot be reported. Report one made with a live key."
