"""POST /rmbg (and /api/rmbg): remove a background. SPEC §1.

The order matters and is the contract: auth → short-term limit → every field validated →
image decoded and checked → one credit reserved → pipeline in the bounded pool → the credit
committed, or refunded on failure. Nothing is charged for a request that fails.
"""

from asgiref.sync import sync_to_async
from django.http import HttpResponse
from ninja import Router

from api.auth import KeyTokenOrAnonymous
from api.schemas import ERRORS_RMBG
from api.uploads import upload_read
from billing import quota, ratelimit
from config import metrics
from removal import cutout, decode, pipeline
from removal.errors import PROCESSING_FAILED, ProcessingFailed, RemovalError
from removal.pool import run_in_pool

router = Router(tags=["Background removal"])

_BOOL = {"type": "string", "enum": ["true", "false"]}
_IMAGE_TYPES = ("image/webp", "image/png", "image/jpeg", "image/bmp")
# SPEC §7: refinement, crop to the subject, choice of model, and the headers that report them.
SUBJECT_FIELDS_OPENAPI = {
    "refine": {"type": "string", "enum": ["none", "matting"], "default": "none",
               "description": "Edge refinement: closed-form matting on a trimap from the mask (guarded, "
                              "time-bounded); the X-Refine header says what was done"},
    "crop": _BOOL | {"default": "false",
                     "description": "Crop to the subject's box (before resize/rotate); no subject → 400"},
    "crop_margin": {"type": "string", "default": "0", "pattern": r"^\d+(\.\d+)?(px|%)?$",
                    "description": "Margin around the subject when cropping: 0-500 px (`20`, `20px`) or "
                                   "0%-50% of the subject's size (`10%`)"},
    "model": {"type": "string", "default": "u2netp",
              "description": "An installed model (GET /api/models); not installed → 400 listing them"},
}
SUBJECT_HEADERS_OPENAPI = {
    "X-Refine": {"schema": {"type": "string", "enum": ["matting", "reduced", "skipped"]},
                 "description": "Only with refine=matting: matting at full size, on a downscaled copy, "
                                "or skipped by the guard (mask kept)"},
} | {
    f"X-Foreground-{name}": {"schema": {"type": "integer"},
                             "description": "The subject's box in input pixels (after EXIF orientation); "
                                            "absent when there is no subject"}
    for name in ("Left", "Top", "Width", "Height")
}
RMBG_OPENAPI = {
    # The key is optional: without one the call is an anonymous trial (an empty requirement).
    "security": [{"KeyTokenOrAnonymous": []}, {}],
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["image"],
                    "properties": {
                        "image": {"type": "string", "format": "binary",
                                  "description": "webp, bmp, png, jpg or jpeg; ≤ 50 MB; ≤ 10000 px a side"},
                        "format": {"type": "string", "enum": ["webp", "png", "jpeg", "jpg", "bmp"],
                                   "default": "webp", "description": "Output format (case-insensitive)"},
                        "w": {"type": "integer", "minimum": 0, "maximum": 10000,
                              "description": "Target width; 0 or empty = unset"},
                        "h": {"type": "integer", "minimum": 0, "maximum": 10000,
                              "description": "Target height; 0 or empty = unset"},
                        "exact_resize": _BOOL | {"default": "false"},
                        "mask": _BOOL | {"default": "false"},
                        "bg_color": {"type": "string",
                                     "description": "#RGB, #RGBA, #RRGGBB, #RRGGBBAA or a CSS colour name"},
                        "angle": {"type": "number", "minimum": -360, "maximum": 360, "default": 0},
                        "expand": _BOOL | {"default": "true"},
                        "return_base64": _BOOL | {"default": "false",
                                                  "description": "Accepted for rembg.js; ignored"},
                        **SUBJECT_FIELDS_OPENAPI,
                    },
                }
            }
        },
    },
    "responses": {
        "200": {
            "description": "The processed image",
            "headers": {
                name: {"schema": {"type": "integer"}}
                for name in ("X-Credits-Charged", "X-Width", "X-Height",
                             "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")
            } | SUBJECT_HEADERS_OPENAPI,
            "content": {ct: {"schema": {"type": "string", "format": "binary"}} for ct in _IMAGE_TYPES},
        }
    },
}


def _process(image, opts):
    return pipeline.cutout_render(image, opts)


def _subject_headers(response: HttpResponse, result: cutout.Cutout) -> None:
    """SPEC §7: what refinement did (only when asked) and the subject's box in input pixels."""
    if result.refine is not None:
        response["X-Refine"] = result.refine
    if result.foreground is not None:
        for name, value in zip(("Left", "Top", "Width", "Height"), result.foreground, strict=True):
            response[f"X-Foreground-{name}"] = str(value)


@router.post(
    "/rmbg",
    auth=KeyTokenOrAnonymous(),
    response=ERRORS_RMBG,
    openapi_extra=RMBG_OPENAPI,
    summary="Remove the background of an image",
    url_name="rmbg",
    operation_id="rmbg",
)
@router.post("/api/rmbg", auth=KeyTokenOrAnonymous(), response=ERRORS_RMBG,
             openapi_extra=RMBG_OPENAPI, summary="Remove the background of an image (alias)",
             url_name="api-rmbg", operation_id="api_rmbg")
async def rmbg(request):
    caller = request.auth
    limit = await sync_to_async(ratelimit.ratelimit_check)(caller=caller)
    upload = await sync_to_async(upload_read, thread_sensitive=False)(request)
    image = await run_in_pool(decode.image_load, upload.data, upload.filename)

    reservation = None
    if caller.user is None:
        await sync_to_async(ratelimit.anonymous_daily_check)(ip=caller.ip)
    else:
        reservation = await sync_to_async(quota.credits_reserve)(user_id=caller.user.id, source=caller.source)
    try:
        result = await run_in_pool(_process, image, upload.options)
    except Exception as exc:
        if reservation is not None:
            await sync_to_async(quota.credits_refund)(reservation=reservation)
        else:
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
    _subject_headers(response, result)
    return response
