"""POST /rmbg (and /api/rmbg): remove a background. SPEC §1.

The order matters and is the contract: auth → short-term limit → every field validated →
image decoded and checked → one credit held (billing.charge) → the pipeline → the credit
committed, or refunded on failure. Nothing is charged for a request that fails.

SPEC §7 additions, each a call into its own module: an Idempotency-Key replay answers before
any of this (api/idempotency.py); the image may come from `image_url` (api/image_source.py);
a test key is processed small (api/test_mode.py) and never charged (billing.charge, the one
place); the answer becomes JSON when Accept asks for it (api/response_shape.py).
"""

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpResponse
from ninja import Router

from api.auth import key_token_or_anonymous
from api.idempotency import idempotent
from api.image_source import image_source_read
from api.response_shape import response_shape
from api.rmbg_openapi import RMBG_OPENAPI
from api.schemas import ERRORS_RMBG
from api.test_mode import HEADER as TEST_MODE_HEADER
from api.test_mode import test_mode_options
from billing import ratelimit
from billing.charge import credit_held
from removal import pipeline

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
    return await idempotent(request, caller=caller, run=lambda: _rmbg(request, caller))


def _subject_headers(response: HttpResponse, cutout: pipeline.Cutout) -> None:
    """SPEC §7: what refinement did (only when asked) and the subject's box in input pixels."""
    if cutout.refine is not None:
        response["X-Refine"] = cutout.refine
        if cutout.refine_reason:
            response["X-Refine-Reason"] = cutout.refine_reason
    if cutout.foreground is not None:
        for name, value in zip(("Left", "Top", "Width", "Height"), cutout.foreground, strict=True):
            response[f"X-Foreground-{name}"] = str(value)


async def _rmbg(request, caller):
    limit = await sync_to_async(ratelimit.ratelimit_check)(caller=caller)
    source = await image_source_read(request)  # the `image` upload or the `image_url` download
    # The options let a large JPEG asked for a smaller output decode smaller; a test key's own
    # size cap is decided from the decoded image, so it decodes in full.
    image = await pipeline.image_decode(source.data, source.filename,
                                        options=None if caller.test_mode else source.options)
    options = source.options
    if caller.test_mode:
        options = test_mode_options(size=image.image.size, options=options)
    async with credit_held(caller=caller, where="POST /rmbg") as charge:
        cutout = await pipeline.cutout_make(image, options, model=settings.REMBG_MODEL)
    result = cutout.result
    response = HttpResponse(result.data, content_type=result.content_type)
    response["X-Credits-Charged"] = str(charge.credits)
    response["X-Width"] = str(result.width)
    response["X-Height"] = str(result.height)
    for name, value in limit.headers.items():
        response[name] = value
    if caller.test_mode:
        response[TEST_MODE_HEADER] = "true"
    _subject_headers(response, cutout)
    return response_shape(request, response)  # raw bytes, or JSON when Accept asks for it only
