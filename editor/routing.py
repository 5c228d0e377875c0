from django.urls import path  # noqa: F401  (consumers are added by the editor)

websocket_urlpatterns: list = []
