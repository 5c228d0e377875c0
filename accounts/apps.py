from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    # Not "Accounts": allauth's own app (email addresses) is called that in the admin too.
    verbose_name = "Users and API keys"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_out

        user_logged_out.connect(_revoke_user_tokens_on_logout, dispatch_uid="accounts.revoke_user_tokens")


def _revoke_user_tokens_on_logout(sender, request, user, **kwargs) -> None:
    # Logging out must also end the web app's Bearer tokens; nothing else notices a logout.
    from accounts.services import user_tokens_revoke

    if user is not None and user.is_authenticated:
        user_tokens_revoke(user=user)
