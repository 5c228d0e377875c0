"""POST /rmbg (and /api/rmbg): remove a background. SPEC §1.

The order matters and is the contract: auth → short-term limit → every field validated →
image decoded and checked → one credit reserved → pipeline in the bounded pool → the credit
committed, or refunded on failure. Nothing is charged for a request that fails.

SPEC §7 additions, each a call into its own module: an Idempotency-Key replay answers before
any of this (api/idempotency.py); the image may come from `image_url` (api/image_source.py);
a test key is processed small and never charged (api/test_mode.py + the one `caller.test_mode`
check below); the answer becomes JSON when Accept asks for it (api/response_shape.py).
"""

from asgiref.sync import sync_to_async
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
from billing import quota, ratelimit
from config import metrics
from removal import decode, pipeline
from removal.errors import PROCESSING_FAILED, ProcessingFailed, RemovalError
from removal.pool import run_in_pool

router = Router(tags=["Background removal"])


def _process(image, opts):
    return pipeline.render(image, pipeline.mask_compute(image), opts)


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


async def _rmbg(request, caller):
    limit = await sync_to_async(ratelimit.ratelimit_check)(caller=caller)
    source = await image_source_read(request)  # the `image` upload or the `image_url` download
    image = await run_in_pool(decode.image_load, source.data, source.filename)
    options = source.options
    if caller.test_mode:
        options = test_mode_options(size=image.image.size, options=options)

    reservation = None
    if caller.test_mode:
        pass  # SPEC §7: a test key is never charged and not counted as usage (the one place)
    elif caller.user is None:
        await sync_to_async(ratelimit.anonymous_daily_check)(ip=caller.ip)
    else:
        reservation = await sync_to_async(quota.credits_reserve)(user_id=caller.user.id, source=caller.source)
    try:
        result = await run_in_pool(_process, image, options)
    except Exception as exc:
        if reservation is not None:
            await sync_to_async(quota.credits_refund)(reservation=reservation)
        elif caller.user is None:
            await sync_to_async(ratelimit.anonymous_daily_refund)(ip=caller.ip)
        if isinstance(exc, RemovalError) and exc.status != 500:
            raise  # e.g. the pool is full: 503 with Retry-After, still nothing charged
        raise ProcessingFailed(PROCESSING_FAILED) from exc
    if reservation is not None:
        await sync_to_async(quota.credits_commit)(reservation=reservation)
    metrics.image_processed(source=caller.source)

    response = HttpResponse(result.data, content_type=result.content_type)
    response["X-Credits-Charged"] = "1" if reservation is not None else "0"
    response["X-Width"] = str(result.width)
    response["X-Height"] = str(result.height)
    for name, value in limit.headers.items():
        response[name] = value
    if caller.test_mode:
        response[TEST_MODE_HEADER] = "true"
    return response_shape(request, response)  # raw bytes, or JSON when Accept asks for it only
