"""Account pages (usage, pricing, checkout return pages). config/urls.py includes these at ""."""

from django.urls import path

from billing import pages

app_name = "pages"

urlpatterns = [
    path("account/usage/", pages.usage, name="usage"),
    path("pricing/", pages.pricing, name="pricing"),
    path("billing/success/", pages.checkout_success, name="checkout_success"),
    path("billing/cancel/", pages.checkout_cancel, name="checkout_cancel"),
]
