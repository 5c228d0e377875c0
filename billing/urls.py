from django.urls import path

from billing import views

app_name = "billing"

urlpatterns = [
    path("checkout/<str:kind>/<slug:slug>/", views.checkout, name="checkout"),
    path("portal/", views.portal, name="portal"),
    path("webhook/", views.webhook, name="webhook"),
]
