"""POST /rmbg (and /api/rmbg): remove a background. SPEC §1.

The order is the contract: auth → short-term limit → every field validated → the one charged
cut-out (cutouts.service: decode and checks → one credit held → pipeline → commit, refunded on any
failure). SPEC §7 additions, each a call into its own module: an Idempotency-Key replay answers
before any of this (api/idempotency.py); the image may come from `image_url` (api/image_source.py);
the answer becomes JSON when Accept asks for it (api/response_shape.py).
"""

from asgiref.sync import sync_to_async
from django.http import HttpResponse
from ninja import Router

from api.auth import key_token_or_anonymous
from api.idempotency import HEADER as IDEMPOTENCY_HEADER
from api.idempotency import ReportMaterial, idempotent, report_material_attach
from api.image_source import image_source_read
from api.response_shape import response_shape
from api.rmbg_openapi import RMBG_OPENAPI
from api.schemas import ERRORS_RMBG
from billing import ratelimit
from cutouts.service import Cutout, Delivered, cutout_charged

router = Router(tags=["Background removal"])


@router.post(
    "/rmbg",
    auth=key_token_or_anonymous(),
    response=ERRORS_RMBG,
    openapi_extra=RMBG_OPENAPI,
    summary="Remove the background of an image",
    url_name="rmbg",
    operation_id="rmbg",
)
@router.post("/api/rmbg", auth=key_token_or_anonymous(), response=ERRORS_RMBG,
             openapi_extra=RMBG_OPENAPI, summary="Remove the background of an image (alias)",
             url_name="api-rmbg", operation_id="api_rmbg")
async def rmbg(request):
    caller = request.auth
    # SPEC §7: a retry with the same Idempotency-Key replays the first answer, never charged twice.
    return await idempotent(request, caller=caller, operation="rmbg", run=lambda: _rmbg(request, caller))


def _subject_headers(response: HttpResponse, cutout: Cutout) -> None:
    """SPEC §7: what refinement did (only when asked) and the subject's box in input pixels."""
    if cutout.refine is not None:
        response["X-Refine"] = cutout.refine
        if cutout.refine_reason:
            response["X-Refine-Reason"] = cutout.refine_reason
    if cutout.foreground is not None:
        for name, value in zip(("Left", "Top", "Width", "Height"), cutout.foreground, strict=True):
            response[f"X-Foreground-{name}"] = str(value)


TEST_MODE_HEADER = "X-Test-Mode"


async def _rmbg(request, caller):
    limit = await sync_to_async(ratelimit.ratelimit_check)(caller=caller)
    source = await image_source_read(request)  # the `image` upload or the `image_url` download
    delivered: Delivered[None] = await cutout_charged(
        caller=caller, data=source.data, filename=source.filename, options=source.options, where="POST /rmbg")
    result = delivered.cutout.result
    response = HttpResponse(result.data, content_type=result.content_type)
    response["X-Credits-Charged"] = str(delivered.credits)
    response["X-Width"] = str(result.width)
    response["X-Height"] = str(result.height)
    for name, value in limit.headers.items():
        response[name] = value
    if delivered.test_mode:
        response[TEST_MODE_HEADER] = "true"
    _subject_headers(response, delivered.cutout)
    shaped = response_shape(request, response)  # raw bytes, or JSON when Accept asks for it only
    # Reportable by its key later (POST /rmbg/report). Only with a key: the response would otherwise
    # hold the upload and the result for nothing (a 48 MP request's RSS, issue 28).
    if caller.user is not None and not delivered.test_mode and request.headers.get(IDEMPOTENCY_HEADER):
        report_material_attach(shaped, ReportMaterial(
            original=source.data, original_name=source.filename, original_url=source.image_url or "",
            result=result.data, result_content_type=result.content_type,
            options={name: value for name, value in source.fields.items() if name != "image_url"}))
    return shaped
