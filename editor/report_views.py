"""POST /editor/jobs/<id>/report/: the editor's "Report a bad cut-out" (editor/reports.py)."""

from django.http import Http404, JsonResponse
from django.views.decorators.http import require_POST

from core.errors import error_response_for
from editor import reports, selectors
from editor.errors import EditorError, LoginRequired, error_extra
from editor.models import Job


@require_POST
def job_report(request, job_id):
    """consent=true (required) and an optional note → 201 {"id", "status": "received"}."""
    if not request.user.is_authenticated:
        return error_response_for(LoginRequired(), extra=error_extra(LoginRequired()))
    try:
        job = selectors.job_get(user=request.user, job_id=job_id)
    except Job.DoesNotExist:
        raise Http404() from None
    consent = request.POST.get("consent", "").lower() in ("true", "1", "yes", "on")
    try:
        report = reports.report_create(job=job, consent=consent, note=request.POST.get("note", ""))
    except EditorError as exc:
        return error_response_for(exc)
    return JsonResponse({"id": str(report.pk), "status": "received"}, status=201)
