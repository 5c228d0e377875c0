"""The editor's own refusals, and the links its page shows beside a domain error.

Errors from removal, billing and accounts carry `status`, `message`, `details` and `headers`
(see the error convention); the editor shows SPEC's message inline and, where it helps, a link.
"""

from accounts.errors import EmailNotVerified
from billing.errors import NoCreditsLeft, RateLimited
from core.errors import DomainError

PRICING_URL = "/pricing/"


class EditorError(DomainError):
    message = "Editor error"


class LoginRequired(EditorError):
    status = 401
    message = "Please log in to use the editor."


class JobNotReady(EditorError):
    status = 409
    message = "This image is still being processed. Try again when it is done."


class RenderTimedOut(EditorError):
    status = 503
    message = "Rendering took too long and was stopped. Your previous result is kept; please try again."

    def __init__(self) -> None:
        super().__init__(headers={"Retry-After": "5"})


class RendersInFlight(EditorError):
    """One user's renders may not hold every CPU slot (EDITOR_RENDERS_PER_USER per process)."""

    status = 429
    message = "You already have renders in progress. Wait for one to finish, then try again."

    def __init__(self) -> None:
        super().__init__(headers={"Retry-After": "1"})


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


def error_extra(exc: Exception) -> dict:
    """What the editor adds to SPEC's error shape: an `action` link for the page, when one helps."""
    action = _action(exc)
    return {"action": action} if action else {}
