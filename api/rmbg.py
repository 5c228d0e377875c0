"""POST /rmbg (and /api/rmbg): remove a background. SPEC §1.

The order matters and is the contract: auth → short-term limit → every field validated →
image decoded and checked → one credit held (billing.charge) → the pipeline → the credit
committed, or refunded on failure. Nothing is charged for a request that fails.
"""

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpResponse
from ninja import Router

from api.auth import KeyTokenOrAnonymous
from api.schemas import ERRORS_RMBG
from billing import ratelimit
from billing.charge import credit_held
from core.uploads import upload_read
from removal import pipeline

router = Router(tags=["Background removal"])

_BOOL = {"type": "string", "enum": ["true", "false"]}
_IMAGE_TYPES = ("image/webp", "image/png", "image/jpeg", "image/bmp")
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
            },
            "content": {ct: {"schema": {"type": "string", "format": "binary"}} for ct in _IMAGE_TYPES},
        }
    },
}


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
    image = await pipeline.image_decode(upload.data, upload.filename)
    async with credit_held(caller=caller, where="POST /rmbg") as charge:
        cutout = await pipeline.cutout_make(image, upload.options, model=settings.REMBG_MODEL)
    result = cutout.result
    response = HttpResponse(result.data, content_type=result.content_type)
    response["X-Credits-Charged"] = str(charge.credits)
    response["X-Width"] = str(result.width)
    response["X-Height"] = str(result.height)
    for name, value in limit.headers.items():
        response[name] = value
    return response
