"""Batch jobs over HTTP (issue 18): POST/GET/DELETE /api/jobs, and the signed links to local results.

Thin: parse, call one jobs.services function, shape the answer. The work runs on Celery workers.
"""

from asgiref.sync import sync_to_async
from django.http import FileResponse, JsonResponse
from ninja import Router

from api.auth import key_or_token
from api.idempotency import HEADER as IDEMPOTENCY_HEADER
from api.idempotency import MAX_KEY_LENGTH, idempotent
from api.rmbg_openapi import OPTION_PROPERTIES
from api.schemas import ErrorOut
from billing import ratelimit
from core.uploads import batch_read
from jobs import services

router = Router(tags=["Batch jobs"])


def _base(request) -> str:
    """Links in the answer use the address the client reached us at (behind TRUSTED_PROXIES too)."""
    return request.build_absolute_uri("/").rstrip("/")

ERRORS_JOBS = {code: ErrorOut for code in (400, 401, 403, 404, 429, 500, 503)}
ERRORS_SUBMIT = ERRORS_JOBS | {409: ErrorOut, 422: ErrorOut}  # Idempotency-Key in use / reused
JOBS_OPENAPI = {
    "parameters": [{
        "name": IDEMPOTENCY_HEADER, "in": "header", "required": False,
        "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
        "description": "A retry with the same key and the same request answers the first job again "
                       "(`Idempotent-Replayed: true`); kept 24 h. Same key, different request → 422; "
                       "while the first is still being accepted → 409.",
    }],
    "requestBody": {
        "required": True,
        "content": {"multipart/form-data": {"schema": {
            "type": "object",
            "properties": {
                "image": {"type": "array", "items": {"type": "string", "format": "binary"},
                          "description": "Up to 100 images in all (repeat the part); each as POST /rmbg "
                                         "accepts"},
                "image_url": {"type": "array", "items": {"type": "string", "format": "uri"},
                              "description": "And/or http(s) URLs of images (repeat the field), downloaded "
                                             "by the workers with the same checks as POST /rmbg's image_url"},
                "callback_url": {"type": "string", "format": "uri",
                                 "description": "https URL that receives the signed job.completed webhook"},
                **OPTION_PROPERTIES,
            },
        }}},
    },
}


@router.post("/api/jobs", auth=key_or_token(), response={202: dict} | ERRORS_SUBMIT,
             openapi_extra=JOBS_OPENAPI, summary="Submit a batch job", operation_id="jobs_submit")
async def jobs_submit(request):
    caller = request.auth
    # SPEC §7: a retry with the same Idempotency-Key gets the first answer (the same job), not a second job.
    return await idempotent(request, caller=caller, operation="jobs",
                            run=lambda: sync_to_async(_submit)(request, caller))


def _submit(request, caller) -> JsonResponse:
    ratelimit.ratelimit_check(caller=caller)
    upload = batch_read(request)
    job = services.job_submit(caller=caller, files=upload.files, urls=upload.urls, fields=upload.fields)
    return JsonResponse(services.job_view(job, base_url=_base(request)), status=202)


@router.get("/api/jobs", auth=key_or_token(), response={200: dict} | ERRORS_JOBS,
            summary="Your batch jobs, newest first", operation_id="jobs_list")
def jobs_list(request, page: int = 1):
    result = services.jobs_list(user=request.auth.user, page=page)
    return JsonResponse({"jobs": [services.job_view(job, base_url=_base(request), items=False)
                                  for job in result.jobs],
                         "page": result.page, "pages": result.pages, "total": result.total})


@router.get("/api/jobs/results/{token}", auth=None, response={200: dict} | ERRORS_JOBS,
            summary="A result image (the signed, expiring link a job gives)", operation_id="jobs_result")
def jobs_result(request, token: str):
    handle, content_type = services.result_open(token=token)
    response = FileResponse(handle, content_type=content_type)
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@router.get("/api/jobs/{job_id}", auth=key_or_token(), response={200: dict} | ERRORS_JOBS,
            summary="A batch job: status, items, result links", operation_id="jobs_get")
def jobs_get(request, job_id: str):
    job = services.job_get(user=request.auth.user, job_id=job_id)
    return JsonResponse(services.job_view(job, base_url=_base(request)))


@router.delete("/api/jobs/{job_id}", auth=key_or_token(), response={200: dict} | ERRORS_JOBS,
               summary="Cancel the items no worker has started", operation_id="jobs_cancel")
def jobs_cancel(request, job_id: str):
    job = services.job_cancel(user=request.auth.user, job_id=job_id)
    return JsonResponse(services.job_view(job, base_url=_base(request)))
