"""Who is calling: ninja auth classes around accounts' one authentication service.

The OpenAPI document names one security scheme per credential, after the class: `ApiKey`
(the `x-api-key` header, used by POST /rmbg and GET /api/membership-usage alike, so one
Authorize in /api/docs serves both) and `BearerToken` (the web app's user token). ninja names
a scheme after the auth object's class, so both endpoints use the same `ApiKey` class.
"""

from ninja.security import APIKeyHeader, HttpBearer

from accounts.errors import CredentialsRequired, InvalidApiKey
from accounts.services import caller_identify


def _bearer(request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def _identify(request, key: str | None, *, bearer: str | None):
    # None: no x-api-key header. "" (an empty header) is a credential that fails, not anonymity.
    return caller_identify(
        api_key=key,
        bearer=bearer,
        remote_addr=request.META.get("REMOTE_ADDR", ""),
        forwarded_for=request.META.get("HTTP_X_FORWARDED_FOR"),
    )


class ApiKey(APIKeyHeader):
    """`x-api-key`. Required, or (`required=False`, POST /rmbg) also a Bearer token or nobody
    (the anonymous trial): then it never returns falsy, and BearerToken only documents."""

    param_name = "x-api-key"
    openapi_description = (
        "Your API key, created in your profile: `ck_live_…`, or `ck_test_…` for free, "
        "uncharged test calls. Sent as the `x-api-key` header."
    )

    def __init__(self, *, required: bool, anonymous: bool = True) -> None:
        self.required = required
        self.anonymous = anonymous  # with required=False: may nobody call (the anonymous trial)?
        super().__init__()

    def authenticate(self, request, key):
        if not self.required:
            caller = _identify(request, key, bearer=_bearer(request))
            if caller.user is None and not self.anonymous:
                raise CredentialsRequired()
            return caller
        if not key:
            raise InvalidApiKey()
        return _identify(request, key, bearer=None)  # usage is read with an API key only


class BearerToken(HttpBearer):
    """The signed-in web app's `Authorization: Bearer <user token>` (counted as app usage)."""

    openapi_description = "A short-lived user token of the signed-in web app (counted as app usage)."

    def authenticate(self, request, token):
        return _identify(request, None, bearer=token)


def key_token_or_anonymous() -> list:
    """POST /rmbg: an API key, a user token, or the anonymous trial (SPEC §1's order)."""
    return [ApiKey(required=False), BearerToken()]


def key_or_token() -> list:
    """Batch jobs: an API key or a user token; anonymous callers are refused (401)."""
    return [ApiKey(required=False, anonymous=False), BearerToken()]
