"""A bare ASGI app around removal.pipeline's entry points, for bench/http.py --server pipeline.

    POST /rmbg   multipart `image` + SPEC's form fields → the image, or SPEC's JSON error
    GET  /healthz

No Django, accounts or credits: it measures the pipeline's own HTTP behaviour (the staged
executors, admission, 503s) before the API is switched to image_decode + cutout_make; once it is,
`--server django` (the default) measures the same path with the product around it.
"""

import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from removal import pipeline, segment
from removal.errors import RemovalError
from removal.options import options_parse

MODEL = os.environ.get("REMBG_MODEL", segment.DEFAULT_MODEL)


async def rmbg(request: Request) -> Response:
    form = await request.form(max_part_size=60 * 1024 * 1024)
    upload = form.get("image")
    fields = {key: value for key, value in form.items() if isinstance(value, str)}
    try:
        options = options_parse(fields)
        image = await pipeline.image_decode(await upload.read(), upload.filename)  # type: ignore[union-attr]
        cutout = await pipeline.cutout_make(image, options, model=MODEL)
    except RemovalError as exc:
        body = {"error": exc.message, "status": exc.status}
        if exc.details:
            body["details"] = exc.details
        return JSONResponse(body, status_code=exc.status, headers=exc.headers)
    result = cutout.result
    return Response(result.data, media_type=result.content_type,
                    headers={"X-Width": str(result.width), "X-Height": str(result.height)})


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def _warm() -> None:
    if os.environ.get("WARM_UP", "").lower() in ("1", "true", "yes"):
        pipeline.warm_up(MODEL)


app = Starlette(routes=[Route("/rmbg", rmbg, methods=["POST"]), Route("/healthz", healthz)],
                on_startup=[_warm])
