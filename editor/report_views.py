"""POST /editor/jobs/<id>/report/: the editor's "Report a bad cut-out" (cutouts.reports)."""

from django.http import Http404, JsonResponse
from django.views.decorators.http import require_POST

from core.errors import DomainError, error_response_for
from cutouts import reports
from cutouts.models import Report
from editor import selectors
from editor.errors import JobNotReady, LoginRequired, error_extra
from editor.models import EditorJob


def _report_create(*, job: EditorJob, consent: bool, note: str) -> Report:
    reports.report_check(consent=consent, note=note)  # refused first, whatever the job's stage
    if job.stage != EditorJob.Stage.DONE or not job.result or not job.original:
        raise JobNotReady()
    return reports.report_create(
        user_id=job.user_id, source=Report.Source.EDITOR, source_ref=str(job.pk), original=job.original,
        mask=job.mask, result=job.result, result_content_type=job.result_content_type,
        original_name=job.original_name, options=job.options, consent=consent, note=note)


@require_POST
def job_report(request, job_id):
    """consent=true (required) and an optional note → 201 {"id", "status": "received"}."""
    if not request.user.is_authenticated:
        return error_response_for(LoginRequired(), extra=error_extra(LoginRequired()))
    try:
        job = selectors.job_get(user=request.user, job_id=job_id)
    except EditorJob.DoesNotExist:
        raise Http404() from None
    consent = reports.consent_parse(request.POST.get("consent", ""))
    try:
        report = _report_create(job=job, consent=consent, note=request.POST.get("note", ""))
    except DomainError as exc:
        return error_response_for(exc)
    return JsonResponse({"id": str(report.pk), "status": "received"}, status=201)
