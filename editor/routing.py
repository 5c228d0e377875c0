from django.urls import path

from editor.consumers import EditorConsumer

websocket_urlpatterns = [
    path("ws/editor/", EditorConsumer.as_asgi()),
]
