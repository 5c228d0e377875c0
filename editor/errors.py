"""The editor's own refusals, and the one function that turns any domain error into JSON.

Errors from removal, billing and accounts carry `status`, `message`, `details` and `headers`
(see the error convention); the editor shows SPEC's message inline and, where it helps, a link.
"""

from accounts.errors import EmailNotVerified
from api.errors import error_body as api_error_body
from billing.errors import NoCreditsLeft, RateLimited
from config.errors import DomainError

PRICING_URL = "/pricing/"


class EditorError(DomainError):
    message = "Editor error"


class LoginRequired(EditorError):
    status = 401
    message = "Please log in to use the editor."


class JobNotReady(EditorError):
    status = 409
    message = "This image is still being processed. Try again when it is done."


def _action(exc: Exception) -> dict | None:
    if isinstance(exc, NoCreditsLeft):
        return {"href": PRICING_URL, "label": "Buy more credits"}
    if isinstance(exc, RateLimited):
        return {"href": PRICING_URL, "label": "Upgrade your plan"}
    if isinstance(exc, EmailNotVerified):
        return {"href": "/profile/", "label": "Resend the verification email"}
    if isinstance(exc, LoginRequired):
        return {"href": "/accounts/login/?next=/editor/", "label": "Log in"}
    return None


def error_body(exc: Exception) -> dict:
    """SPEC §1's error shape, plus an optional `action` link for the page."""
    body = api_error_body(status=exc.status, message=exc.message, details=getattr(exc, "details", None))
    action = _action(exc)
    if action:
        body["action"] = action
    return body
