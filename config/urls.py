from django.contrib import admin
from django.urls import include, path

from api.health import healthz
from billing.pages import home

urlpatterns = [
    path("", home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("", include("accounts.urls")),
    path("billing/", include("billing.urls")),
    path("", include("billing.page_urls")),
    path("editor/", include("editor.urls")),
    path("", include("api.urls")),
]

handler404 = "api.errors.not_found"
handler500 = "api.errors.server_error"
