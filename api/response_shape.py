"""POST /rmbg's answer as raw image bytes (the default) or as JSON (SPEC §7).

JSON only when the `Accept` header asks for application/json and for no image type and no
`*/*`: axios, and so rembg.js, sends `application/json, text/plain, */*` and must keep getting
bytes. The JSON carries what the headers say: {"data": {"result_b64", "content_type", "width",
"height", "foreground"? (when the X-Foreground-* headers are there), "credits_charged"}}.
"""

import base64

from django.http import HttpResponse, JsonResponse
from django.utils.cache import patch_vary_headers

_FOREGROUND = {"left": "X-Foreground-Left", "top": "X-Foreground-Top",
               "width": "X-Foreground-Width", "height": "X-Foreground-Height"}


def _media_ranges(accept: str) -> list[str]:
    """The media ranges of an Accept header, without parameters, leaving out q=0 ones."""
    ranges = []
    for part in accept.split(","):
        media, *params = (piece.strip() for piece in part.split(";"))
        refused = any(param.replace(" ", "").lower() in ("q=0", "q=0.0", "q=0.00", "q=0.000")
                      for param in params)
        if media and not refused:
            ranges.append(media.lower())
    return ranges


def json_wanted(accept: str) -> bool:
    ranges = _media_ranges(accept)
    return ("application/json" in ranges
            and not any(media == "*/*" or media.startswith("image/") for media in ranges))


def response_shape(request, response: HttpResponse) -> HttpResponse:
    """`response` (image bytes + X-* headers) as it is, or as JSON when the caller asked for it."""
    patch_vary_headers(response, ["Accept"])  # a cache must not hand JSON to a bytes client
    if not json_wanted(request.headers.get("Accept", "")):
        return response
    shaped = JsonResponse({"data": _json_data(response)}, status=response.status_code)
    for name, value in response.items():
        if name.lower() not in ("content-type", "content-length"):
            shaped[name] = value
    return shaped


def _json_data(response: HttpResponse) -> dict:
    data = {
        "result_b64": base64.b64encode(response.content).decode("ascii"),
        "content_type": response["Content-Type"],
        "width": int(response["X-Width"]),
        "height": int(response["X-Height"]),
    }
    if all(header in response for header in _FOREGROUND.values()):
        data["foreground"] = {key: int(response[header]) for key, header in _FOREGROUND.items()}
    data["credits_charged"] = int(response["X-Credits-Charged"])
    return data
