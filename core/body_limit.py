"""Bound every request body while it streams in, whatever its framing.

Django's ASGI handler spools the whole request body to disk before a view runs, so a 2 GB
POST would be read in full just to be told it is too big. This ASGI middleware sits in front:
- a Content-Length more than SLACK bytes over the 50 MB file limit is answered at once, unread;
- every body (chunked ones have no Content-Length) is counted as it arrives; the moment it passes
  the limit the client gets SPEC's size error and the connection is closed, and Django is told
  the client went away, so it stops spooling and never runs the view;
- a chunked body that fits is handed to Django with its Content-Length filled in once read:
  Django's multipart parser reads nothing from a request without one ("No image file provided").
Bodies within the slack go on to the view, which checks the file's exact size.
"""

import json
import logging

from core.errors import error_body
from removal.decode import MAX_BYTES, size_error

log = logging.getLogger(__name__)
SLACK = 1024 * 1024  # room for the other form fields and the multipart framing
_DISCONNECT = {"type": "http.disconnect"}


class BodyLimitMiddleware:
    def __init__(self, app, *, limit: int = MAX_BYTES + SLACK) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.limit:
            return await _refuse(scope, int(length), send)
        body = _CountedBody(scope, receive, send, limit=self.limit)
        return await self.app(body.scope, body.receive, body.send)


class _CountedBody:
    """The request as the app sees it: `receive` counts the body and refuses it past the limit."""

    def __init__(self, scope, receive, send, *, limit: int) -> None:
        # A copy: the Content-Length we may add is for the app, not for the server's own scope.
        self.scope = {**scope, "headers": list(scope["headers"])}
        self.sized = any(name == b"content-length" for name, _ in scope["headers"])
        self._receive, self._send, self.limit = receive, send, limit
        self.received = 0
        self.started = self.refused = False

    async def receive(self) -> dict:
        if self.refused:
            return _DISCONNECT
        message = await self._receive()
        if message["type"] != "http.request":
            return message
        self.received += len(message.get("body", b""))
        if self.received > self.limit:
            return await self._refuse()
        if not message.get("more_body", False) and not self.sized:
            self.scope["headers"].append((b"content-length", str(self.received).encode()))
        return message

    async def send(self, message) -> None:
        if self.refused:
            return  # we answered for the app
        self.started = True
        await self._send(message)

    async def _refuse(self) -> dict:
        self.refused = True
        if not self.started:
            await _refuse(self.scope, self.received, self._send)
        return _DISCONNECT


async def _refuse(scope, size: int, send) -> None:
    """SPEC's size error, JSON, and `Connection: close` so the server stops reading the body."""
    log.info("%s %s refused: a body of %d bytes or more is over the limit", scope["method"], scope["path"],
             size)
    error = size_error(size)
    message = error.message if error is not None else "Request body too large"
    body = json.dumps(error_body(status=400, message=message)).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               (b"connection", b"close")]
    await send({"type": "http.response.start", "status": 400, "headers": headers})
    await send({"type": "http.response.body", "body": body})
