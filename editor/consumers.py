"""The editor page's websocket: relays its owner's job progress. It never does any work itself."""

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from core.metrics import WEBSOCKETS
from editor.progress import user_group


class EditorConsumer(AsyncJsonWebsocketConsumer):
    group: str | None = None
    counted = False  # in the open-websockets gauge

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
        if self.counted:
            self.counted = False
            WEBSOCKETS.dec()
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs) -> None:
        pass  # the page only listens; job state is read over HTTP

    async def job_progress(self, event: dict) -> None:
        await self.send_json({key: value for key, value in event.items() if key != "type"})
