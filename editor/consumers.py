"""The editor page's websocket: relays its owner's job progress. It never does any work itself.

Progress is a convenience (the page reads job state over HTTP), so when the channel layer's Redis
is unreachable, or stops answering, the socket is refused (before the handshake completes: HTTP 403)
or closed with 1013 "try again later", with one warning line and no traceback; the page retries.
"""

import logging

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from core.metrics import WEBSOCKETS
from editor.progress import LAYER_DOWN, user_group

log = logging.getLogger(__name__)

TRY_AGAIN_LATER = 1013


class EditorConsumer(AsyncJsonWebsocketConsumer):
    group: str | None = None
    counted = False  # accepted, and in the open-websockets gauge

    async def __call__(self, scope, receive, send) -> None:
        # The layer is used in connect() and, all along, by the loop waiting for group events.
        try:
            await super().__call__(scope, receive, send)
        except LAYER_DOWN as exc:
            log.warning("editor websocket %s: channel layer unavailable (%s: %s)",
                        "closed" if self.counted else "refused", type(exc).__name__, exc)
            self._uncount()
            await send({"type": "websocket.close", "code": TRY_AGAIN_LATER})

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close()  # refused before accept: the handshake fails with 403
            return
        self.group = user_group(user.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        self.counted = True
        WEBSOCKETS.inc()

    async def disconnect(self, code) -> None:
        self._uncount()
        if self.group:
            try:
                await self.channel_layer.group_discard(self.group, self.channel_name)
            except LAYER_DOWN:
                pass  # the membership expires with the group (channels_redis group_expiry)

    def _uncount(self) -> None:
        if self.counted:
            self.counted = False
            WEBSOCKETS.dec()

    async def receive_json(self, content, **kwargs) -> None:
        pass  # the page only listens; job state is read over HTTP

    async def job_progress(self, event: dict) -> None:
        await self.send_json({key: value for key, value in event.items() if key != "type"})
