"""Refuse an upload far beyond the size limit before reading its body.

Django's ASGI handler spools the whole request body to disk before a view runs, so a 2 GB
POST would be read in full just to be told it is too big. This ASGI middleware looks at
Content-Length first: a body more than SLACK bytes over the 50 MB file limit cannot hold a
valid upload and is answered at once with SPEC's size error, in the usual JSON shape.
Bodies within the slack go on to the view, which checks the file's exact size.
"""

import json

from core.errors import error_body
from removal.decode import MAX_BYTES, size_error

SLACK = 1024 * 1024  # room for the other form fields and the multipart framing


class BodyLimitMiddleware:
    def __init__(self, app, *, limit: int = MAX_BYTES + SLACK) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["method"] == "POST":
            length = dict(scope["headers"]).get(b"content-length", b"")
            if length.isdigit() and int(length) > self.limit:
                return await self._refuse(size_error(int(length)), send)
        return await self.app(scope, receive, send)

    async def _refuse(self, error, send) -> None:
        body = json.dumps(error_body(status=400, message=error.message)).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                   (b"connection", b"close")]
        await send({"type": "http.response.start", "status": 400, "headers": headers})
        await send({"type": "http.response.body", "body": body})
