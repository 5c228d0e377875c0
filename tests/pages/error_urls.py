"""The site's URLs plus views that fail on purpose, for the error page tests (ROOT_URLCONF override)."""

from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.urls import path

from config.urls import handler400, handler403, handler404, handler500, urlpatterns  # noqa: F401

FAILURES = {"500": RuntimeError("boom"), "403": PermissionDenied(), "400": SuspiciousOperation("odd")}


def _fail(request, code: str):
    raise FAILURES[code]


urlpatterns = [
    path("boom/<str:code>/", _fail),
    path("api/boom/<str:code>", _fail),
    *urlpatterns,
]
