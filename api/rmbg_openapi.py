"""What the OpenAPI document (and so /api/docs) says about POST /rmbg.

Kept out of api/rmbg.py so the endpoint stays short. "Try it out" in Swagger UI pre-fills every
form field with a sample: the `example`, else the `default`, else one made up from the type (the
`maximum` 10000 for w/h, "string" for bg_color, https://example.com/ for image_url), which made
the first Execute fail or cost a 15 s upscale. Fields that must start empty say so with
`"example": ""` (an annotation only: validation ignores it); real examples are in the descriptions.
"""

from api.idempotency import HEADER as IDEMPOTENCY_HEADER
from api.idempotency import MAX_KEY_LENGTH, REPLAYED_HEADER
from removal.options import OPTION_FIELDS
from removal.refine import SKIP_REASONS

_BOOL = {"type": "string", "enum": ["true", "false"]}
_EMPTY = {"example": ""}  # starts empty in "Try it out"
_IMAGE_TYPES = ("image/webp", "image/png", "image/jpeg", "image/bmp")

_FIELDS = {
    "image": {"type": "string", "format": "binary",
              "description": "The image: webp, bmp, png, jpg or jpeg; ≤ 50 MB; ≤ 10000 px a side. "
                             "Send either `image` or `image_url`, not both."},
    "image_url": _EMPTY | {"type": "string", "format": "uri",
                  "description": "Instead of `image`: an http(s) URL we download (≤ 3 redirects, 10 s, "
                                 "50 MB). Private, loopback, link-local and reserved addresses are refused "
                                 "(400); a server that fails answers 502, a slow one 504. Nothing is "
                                 "charged for a failed download."},
    "format": {"type": "string", "enum": ["webp", "png", "jpeg", "jpg", "bmp"], "default": "webp",
               "description": "Output format (case-insensitive). jpeg and bmp have no transparency: "
                              "they are flattened onto `bg_color`, else white."},
    "w": _EMPTY | {"type": "integer", "minimum": 0, "maximum": 10000,
          "description": "Target width in px; empty or 0 = keep the size. Example: 800"},
    "h": _EMPTY | {"type": "integer", "minimum": 0, "maximum": 10000,
          "description": "Target height in px; empty or 0 = keep the size. With `w`, the result fits "
                         "inside w×h keeping its aspect. Example: 600"},
    "exact_resize": _BOOL | {"default": "false",
                             "description": "With `w` and `h`: exactly w×h, even if that distorts."},
    "mask": _BOOL | {"default": "false",
                     "description": "Return only the alpha mask (white = foreground)."},
    "bg_color": _EMPTY | {"type": "string",
                 "description": "Solid background instead of transparency: #RGB, #RGBA, #RRGGBB, "
                                "#RRGGBBAA or a CSS colour name. Leave empty for none. "
                                "Example: `#ffffff` or `red`"},
    "angle": {"type": "number", "minimum": -360, "maximum": 360, "default": 0,
              "description": "Rotate the result counter-clockwise by this many degrees."},
    "expand": _BOOL | {"default": "true",
                       "description": "When rotating, grow the canvas so nothing is cropped."},
    "return_base64": _BOOL | {"default": "false",
                              "description": "Accepted for rembg.js; ignored. For base64, ask for "
                                             "`Accept: application/json`."},
    # SPEC §7: refinement, crop to the subject, choice of model.
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
    "quality": {"type": "string", "enum": ["normal", "high"], "default": "normal",
                "description": "high: a second model pass on the subject's box, averaged with the first "
                               "(better masks of subjects that fill little of the frame; ~2× model time)"},
}

# The option fields, documented once for every endpoint that takes them (POST /rmbg, POST /api/jobs).
OPTION_PROPERTIES = {name: _FIELDS[name] for name in OPTION_FIELDS}

_JSON_RESULT = {
    "type": "object",
    "required": ["data"],
    "properties": {"data": {
        "type": "object",
        "required": ["result_b64", "content_type", "width", "height", "credits_charged"],
        "properties": {
            "result_b64": {"type": "string", "description": "The image, base64-encoded"},
            "content_type": {"type": "string", "enum": list(_IMAGE_TYPES)},
            "width": {"type": "integer"},
            "height": {"type": "integer"},
            "foreground": {"type": "object", "description": "The subject's box in input pixels, when known",
                           "properties": {side: {"type": "integer"}
                                          for side in ("left", "top", "width", "height")}},
            "credits_charged": {"type": "integer", "description": "0 or 1"},
        },
    }},
}

_HEADERS = {
    "X-Credits-Charged": "1 when a credit was spent; 0 for test keys and anonymous trials",
    "X-Width": "Width of the result in px",
    "X-Height": "Height of the result in px",
    "RateLimit-Limit": "Requests allowed in the current short-term window",
    "RateLimit-Remaining": "Requests left in that window",
    "RateLimit-Reset": "Seconds until the window resets",
}

_SUBJECT_HEADERS = {
    "X-Refine": {"schema": {"type": "string", "enum": ["matting", "reduced", "skipped"]},
                 "description": "Only with refine=matting: matting at full size, on a downscaled copy, "
                                "or skipped by the guard (mask kept)"},
    "X-Refine-Reason": {"schema": {"type": "string", "enum": list(SKIP_REASONS)},
                        "description": "Only with X-Refine: skipped: why (the mask judged wrong, too "
                                       "large to solve, the time budget spent, the solver did not converge)"},
} | {
    f"X-Foreground-{name}": {"schema": {"type": "integer"},
                             "description": "The subject's box in input pixels (after EXIF orientation); "
                                            "absent when there is no subject"}
    for name in ("Left", "Top", "Width", "Height")
}

RMBG_OPENAPI = {
    "description": (
        "Multipart form with `image` (a file) or `image_url`. Answers the image bytes; answers "
        "JSON (`{\"data\": {\"result_b64\", …}}`) only when `Accept` asks for `application/json` "
        "and for no image type and no `*/*`. One credit per success; failures cost nothing."
    ),
    # The key is optional: without one the call is an anonymous trial (an empty requirement).
    "security": [{"ApiKey": []}, {"BearerToken": []}, {}],
    "parameters": [{
        "name": IDEMPOTENCY_HEADER, "in": "header", "required": False,
        "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
        "description": (
            "Any unique string (≤ 255 characters), e.g. a UUID. A retry with the same key and the "
            "same request replays the first answer (`Idempotent-Replayed: true`) and is never "
            "charged again; kept 24 h. Same key, different request → 422; while the first is "
            "still running → 409."
        ),
    }],
    "requestBody": {
        "required": True,
        "content": {"multipart/form-data": {"schema": {"type": "object", "properties": _FIELDS}}},
    },
    "responses": {
        "200": {
            "description": "The processed image (or, on request, JSON)",
            "headers": {name: {"schema": {"type": "integer"}, "description": text}
                        for name, text in _HEADERS.items()}
                       | {"X-Test-Mode": {"schema": {"type": "string", "enum": ["true"]},
                                             "description": "Present when a test key was used"},
                          REPLAYED_HEADER: {"schema": {"type": "string", "enum": ["true"]},
                                            "description": "Present on a replayed Idempotency-Key answer"}}
                       | _SUBJECT_HEADERS,
            # Image types first: Swagger UI sends the first as Accept, so "Try it out" gets bytes.
            "content": {ct: {"schema": {"type": "string", "format": "binary"}} for ct in _IMAGE_TYPES}
                       | {"application/json": {"schema": _JSON_RESULT}},
        }
    },
}
