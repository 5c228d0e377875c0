from allauth.account.adapter import DefaultAccountAdapter

from accounts.services import client_ip


class AccountAdapter(DefaultAccountAdapter):
    def get_client_ip(self, request) -> str:
        # allauth's per-IP rate limits see the same client address as our API limits.
        remote_addr = request.META.get("REMOTE_ADDR")
        if not remote_addr:
            return super().get_client_ip(request)
        return client_ip(remote_addr=remote_addr, forwarded_for=request.META.get("HTTP_X_FORWARDED_FOR"))
