from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("profile/", views.profile, name="profile"),
    path("profile/keys/", views.api_key_create, name="api_key_create"),
    path("profile/keys/<int:key_id>/revoke/", views.api_key_revoke, name="api_key_revoke"),
    path("profile/verify-email/", views.verification_resend, name="verification_resend"),
    path("profile/token/", views.user_token, name="user_token"),
    path("profile/webhook-secret/rotate/", views.webhook_secret_rotate, name="webhook_secret_rotate"),
]
