"""ASGI entry point: Django for HTTP, Channels for the editor's websocket."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from config.startup import process_start, warm_up_begin  # noqa: E402

warming = warm_up_begin()  # WARM_UP: the model loads on a thread while Django and the apps import

from django.core.asgi import get_asgi_application  # noqa: E402

django_asgi_app = get_asgi_application()  # sets Django up before consumers are imported

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import OriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from core.body_limit import BodyLimitMiddleware  # noqa: E402
from editor.routing import websocket_urlpatterns  # noqa: E402


class SiteOriginValidator(OriginValidator):
    """Accepts a websocket only from settings.WEBSOCKET_ALLOWED_ORIGINS, comparing scheme, host and
    port (AllowedHostsOriginValidator compares host names only). Read at each handshake."""

    def __init__(self, application) -> None:
        self.application = application

    @property
    def allowed_origins(self) -> list[str]:
        return settings.WEBSOCKET_ALLOWED_ORIGINS


process_start(warming)  # logs the execution provider and pool sizing; waits for the warm-up

application = ProtocolTypeRouter(
    {
        "http": BodyLimitMiddleware(django_asgi_app),
        "websocket": SiteOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
