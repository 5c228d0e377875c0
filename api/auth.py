"""Who is calling: ninja auth classes around accounts' one authentication service."""

from ninja.security import APIKeyHeader

from accounts.errors import CredentialsRequired, InvalidApiKey
from accounts.services import caller_identify


def _bearer(request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def _identify(request, key: str | None, *, bearer: str | None):
    return caller_identify(
        api_key=key or None,
        bearer=bearer,
        remote_addr=request.META.get("REMOTE_ADDR", ""),
        forwarded_for=request.META.get("HTTP_X_FORWARDED_FOR"),
    )


class KeyTokenOrAnonymous(APIKeyHeader):
    """`x-api-key`, a web-app Bearer token, or nobody (the anonymous trial). Never returns falsy."""

    param_name = "x-api-key"

    def authenticate(self, request, key):
        return _identify(request, key, bearer=_bearer(request))


class ApiKeyRequired(APIKeyHeader):
    param_name = "x-api-key"

    def authenticate(self, request, key):
        if not key:
            raise InvalidApiKey()
        return _identify(request, key, bearer=None)  # usage is read with an API key only


class KeyOrTokenRequired(APIKeyHeader):
    """`x-api-key` or a web-app Bearer token; anonymous callers are refused (401)."""

    param_name = "x-api-key"

    def authenticate(self, request, key):
        caller = _identify(request, key, bearer=_bearer(request))
        if caller.user is None:
            raise CredentialsRequired()
        return caller
