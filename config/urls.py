from django.contrib import admin
from django.urls import include, path

from billing.pages import home
from core.favicon import favicon
from core.health import healthz, status_page
from core.metrics import metrics_view

admin.site.site_header = "Cutout administration"
admin.site.site_title = "Cutout admin"
admin.site.index_title = "Users, plans and credits"

urlpatterns = [
    path("", home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("status/", status_page, name="status"),
    # Browsers and the admin ask for /favicon.ico whatever the page says: not a 404 everywhere.
    path("favicon.ico", favicon),
    path("metrics", metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("", include("accounts.urls")),
    path("billing/", include("billing.urls")),
    path("", include("billing.page_urls")),
    path("editor/", include("editor.urls")),
    path("", include("api.urls")),
]

handler404 = "core.errors.not_found"
handler500 = "core.errors.server_error"
handler403 = "core.errors.permission_denied"
handler400 = "core.errors.bad_request"
