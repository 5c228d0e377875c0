"""The editor page and its JSON endpoints. Thin: parse, call a service, shape the answer."""

import re

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import SuspiciousOperation
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from accounts.services import email_is_verified
from core.errors import DOMAIN_ERRORS, DomainError, error_response_for
from core.storage import files_delete, signed_url
from core.uploads import FormUnreadable, upload_read
from editor import archive, selectors, services
from editor.errors import JobNotReady, LoginRequired, error_extra
from editor.models import EditorJob
from editor.touchups import touchups_parse, touchups_update
from removal.decode import ALLOWED_EXTENSIONS, MAX_BYTES, MAX_SIDE
from removal.errors import RemovalError, ValidationFailed
from removal.options import options_parse

_REF = re.compile(r"[A-Za-z0-9_-]{1,64}")
NAMED_COLORS = ("white", "black", "red", "green", "blue", "yellow", "orange", "purple", "pink", "gray",
                "silver", "navy", "teal", "olive", "maroon", "skyblue", "lightgreen", "beige", "gold")
# Background presets: (value sent as bg_color, accessible name).
COLOR_PRESETS = (("#ffffff", "White"), ("#000000", "Black"), ("#f2f2f2", "Light grey"), ("#1e3a8a", "Navy"),
                 ("#dbeafe", "Pale blue"), ("#fde68a", "Butter yellow"), ("#fecdd3", "Blush pink"),
                 ("#d1fae5", "Mint"))
_FILES = {"original": "original", "mask": "mask", "result": "result", "thumbnail": "thumbnail",
          "background": "background"}


def _error_response(exc: RemovalError | DomainError, *, job: EditorJob | None = None) -> JsonResponse:
    extra = error_extra(exc)
    if job is not None and job.pk and job.stage == EditorJob.Stage.ERROR:
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
        "color_presets": COLOR_PRESETS,
        "retention_days": settings.EDITOR_RETENTION_DAYS,
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
        assert upload.data is not None and upload.filename is not None  # no image_url in the editor
        job = await sync_to_async(services.job_create)(user=caller.user, filename=upload.filename,
                                                       size=len(upload.data), fields=fields)
        job = await services.job_process(job=job, caller=caller, data=upload.data, opts=upload.options,
                                         ref=_ref(request))
    except DOMAIN_ERRORS as exc:
        return _error_response(exc, job=job)
    return JsonResponse(selectors.job_state(job=job))


async def _owned_job(user, job_id) -> EditorJob:
    """The user's own job, or 404 (another user's job is not found, never forbidden)."""
    try:
        return await selectors.job_aget(user=user, job_id=job_id)
    except EditorJob.DoesNotExist:
        raise Http404() from None


@require_GET
async def job_detail(request, job_id):
    """The job's current state: what a page that lost its websocket reads again."""
    user = await request.auser()
    if not user.is_authenticated:
        return _error_response(LoginRequired())
    return JsonResponse(selectors.job_state(job=await _owned_job(user, job_id)))


def _render_form(request):
    """The render form's fields and files; a form Django refuses to read is a JSON 400, not HTML."""
    try:
        return request.POST, request.FILES
    except (SuspiciousOperation, MultiPartParserError) as exc:  # RequestDataTooBig, TooManyFields…
        raise FormUnreadable() from exc


def _render_fields(request, *, size: tuple[int, int]):
    """The kept option fields, the options and the touch-ups of a render request, every field error
    reported together. Reads the body (a background image up to 50 MB): call it off the event loop."""
    errors, parsed = [], []
    post, files = _render_form(request)
    fields = services.options_fields(post)
    for parse in (lambda: options_parse(fields), lambda: touchups_parse(post, files, size=size)):
        try:
            parsed.append(parse())
        except ValidationFailed as exc:
            errors += [(d["field"], d["message"]) for d in exc.details]
    if errors:
        raise ValidationFailed(errors)
    return fields, *parsed


@require_POST
async def job_render(request, job_id):
    """Render a processed job again with new presentation options: no model run, no charge."""
    try:
        caller = await _admitted_caller(request)
        job = await _owned_job(caller.user, job_id)
        size = (job.original_width or 1, job.original_height or 1)
        fields, opts, touchups = await sync_to_async(_render_fields, thread_sensitive=False)(request,
                                                                                             size=size)
        if not services.job_renderable(job=job):
            raise JobNotReady()
        job = await _rerender_touched_up(job, opts, fields, touchups, ref=_ref(request))
    except DOMAIN_ERRORS as exc:
        return _error_response(exc)
    return JsonResponse(selectors.job_state(job=job))


async def _rerender_touched_up(job: EditorJob, opts, fields: dict[str, str], touchups, *,
                               ref: str) -> EditorJob:
    """Store the touch-ups with the job, re-render; the file of a replaced background goes once
    the new result is saved, and a new one goes again if the render fails (the row keeps the old)."""
    previous = job.background
    unused = await sync_to_async(touchups_update, thread_sensitive=False)(job=job, touchups=touchups)
    try:
        job = await services.job_rerender(job=job, opts=opts, fields=fields, ref=ref)
    except Exception:
        if job.background and job.background != previous:
            await sync_to_async(files_delete)([job.background])
        raise
    await sync_to_async(files_delete)(unused)
    return job


@require_POST
async def job_discard(request, job_id):
    """Delete one of the user's jobs and its files (the Recent list's discard)."""
    user = await request.auser()
    if not user.is_authenticated:
        return _error_response(LoginRequired())
    job = await _owned_job(user, job_id)
    await sync_to_async(services.job_delete)(job=job)
    return JsonResponse({"deleted": str(job_id)})


@require_GET
def jobs_download(request):
    """`?ids=a,b,c`: the user's selected results as one ZIP."""
    if not request.user.is_authenticated:
        return _error_response(LoginRequired())
    try:
        data = archive.jobs_zip(user=request.user, job_ids=archive.job_ids_parse(request.GET.get("ids", "")))
    except DOMAIN_ERRORS as exc:
        return _error_response(exc)
    response = HttpResponse(data, content_type="application/zip")
    response["Content-Disposition"] = 'attachment; filename="cutouts.zip"'
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
def job_file(request, job_id, kind):
    """A job's stored file, for its owner only (anyone else, and anonymous, get 404)."""
    if kind not in _FILES or not request.user.is_authenticated:
        raise Http404()
    try:
        job = selectors.job_get(user=request.user, job_id=job_id)
    except EditorJob.DoesNotExist:
        raise Http404() from None
    name = getattr(job, _FILES[kind])
    if not name:
        raise Http404()
    download = kind == "result" and request.GET.get("download") == "1"
    url = signed_url(name, content_type=job.result_content_type if kind == "result" else "",
                     download_name=selectors.job_download_name(job) if download else "")
    if url:  # object storage: the browser fetches the private object itself, for a few minutes
        redirect = HttpResponseRedirect(url)
        redirect["Cache-Control"] = "private, no-store"
        return redirect
    response = FileResponse(
        services.storage_open(name), as_attachment=download,
        filename=selectors.job_download_name(job) if download else "",
    )
    if kind == "result":
        response["Content-Type"] = job.result_content_type
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response
