"""The editor page and its JSON endpoints. Thin: parse, call a service, shape the answer."""

import re

from asgiref.sync import sync_to_async
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from accounts.services import email_is_verified
from core.errors import DOMAIN_ERRORS, error_response_for
from core.storage import signed_url
from core.uploads import upload_read
from editor import selectors, services
from editor.errors import LoginRequired, error_extra
from editor.models import Job
from removal.decode import ALLOWED_EXTENSIONS, MAX_BYTES, MAX_SIDE
from removal.options import options_parse

_REF = re.compile(r"[A-Za-z0-9_-]{1,64}")
NAMED_COLORS = ("white", "black", "red", "green", "blue", "yellow", "orange", "purple", "pink", "gray",
                "silver", "navy", "teal", "olive", "maroon", "skyblue", "lightgreen", "beige", "gold")
_FILES = {"original": "original", "mask": "mask", "result": "result", "thumbnail": "thumbnail"}


def _error_response(exc: Exception, *, job: Job | None = None) -> JsonResponse:
    extra = error_extra(exc)
    if job is not None and job.pk and job.stage == Job.Stage.ERROR:
        extra["job"] = str(job.pk)
    return error_response_for(exc, extra=extra)


def _ref(request) -> str:
    ref = request.POST.get("ref", "")
    return ref if _REF.fullmatch(ref) else ""


async def _admitted_caller(request):
    """The signed-in user as an `app` caller, past the verification and short-term limit checks."""
    user = await request.auser()
    if not user.is_authenticated:
        raise LoginRequired()
    return await sync_to_async(services.editor_caller_admit)(
        user=user, remote_addr=request.META.get("REMOTE_ADDR", ""),
        forwarded_for=request.META.get("HTTP_X_FORWARDED_FOR"),
    )


@login_required
@require_GET
def editor_page(request):
    jobs = selectors.jobs_recent(user=request.user)
    context = {
        "jobs": [(job, selectors.job_file_url(job, "thumbnail")) for job in jobs],
        "email_verified": email_is_verified(user=request.user),
        "limits": {"extensions": list(ALLOWED_EXTENSIONS), "maxBytes": MAX_BYTES, "maxSide": MAX_SIDE},
        "open_job": request.GET.get("job", ""),
        "named_colors": NAMED_COLORS,
    }
    return render(request, "editor/editor.html", context)


@require_POST
async def job_upload(request):
    """Upload and process a new image (charged once). Answers with the job's final state."""
    job = None
    try:
        caller = await _admitted_caller(request)
        upload = await sync_to_async(upload_read, thread_sensitive=False)(request)
        fields = services.options_fields(upload.fields)
        job = await sync_to_async(services.job_create)(user=caller.user, filename=upload.filename,
                                                       size=len(upload.data), fields=fields)
        job = await services.job_process(job=job, caller=caller, data=upload.data, opts=upload.options,
                                         ref=_ref(request))
    except DOMAIN_ERRORS as exc:
        return _error_response(exc, job=job)
    return JsonResponse(selectors.job_state(job=job))


@require_GET
async def job_detail(request, job_id):
    """The job's current state: what a page that lost its websocket reads again."""
    user = await request.auser()
    if not user.is_authenticated:
        return _error_response(LoginRequired())
    try:
        job = await selectors.job_aget(user=user, job_id=job_id)
    except Job.DoesNotExist:
        raise Http404() from None
    return JsonResponse(selectors.job_state(job=job))


@require_POST
async def job_render(request, job_id):
    """Render a processed job again with new presentation options: no model run, no charge."""
    try:
        caller = await _admitted_caller(request)
        try:
            job = await selectors.job_aget(user=caller.user, job_id=job_id)
        except Job.DoesNotExist:
            raise Http404() from None
        fields = services.options_fields(request.POST)
        opts = options_parse(fields)
        job = await services.job_rerender(job=job, opts=opts, fields=fields, ref=_ref(request))
    except DOMAIN_ERRORS as exc:
        return _error_response(exc)
    return JsonResponse(selectors.job_state(job=job))


@require_GET
def job_file(request, job_id, kind):
    """A job's stored file, for its owner only (anyone else, and anonymous, get 404)."""
    if kind not in _FILES or not request.user.is_authenticated:
        raise Http404()
    try:
        job = selectors.job_get(user=request.user, job_id=job_id)
    except Job.DoesNotExist:
        raise Http404() from None
    name = getattr(job, _FILES[kind])
    if not name:
        raise Http404()
    download = kind == "result" and request.GET.get("download") == "1"
    url = signed_url(name, content_type=job.result_content_type if kind == "result" else "",
                     download_name=selectors.job_download_name(job) if download else "")
    if url:  # object storage: the browser fetches the private object itself, for a few minutes
        response = HttpResponseRedirect(url)
        response["Cache-Control"] = "private, no-store"
        return response
    response = FileResponse(
        services.storage_open(name), as_attachment=download,
        filename=selectors.job_download_name(job) if download else None,
    )
    if kind == "result":
        response["Content-Type"] = job.result_content_type
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response
