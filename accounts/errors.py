"""Typed authentication errors; the API and the editor render them through one handler."""

from core.errors import DomainError


class AuthError(DomainError):
    status = 401
    message = "authentication failed"


class InvalidApiKey(AuthError):
    """Unknown, malformed or revoked API key, or a key whose owner is inactive."""

    status = 401
    message = "invalid api key"


class CredentialsRequired(AuthError):
    """An endpoint with no anonymous use (batch jobs) called without a key or a token."""

    status = 401
    message = "An API key (x-api-key) or a user token (Authorization: Bearer) is required"


class InvalidUserToken(AuthError):
    """A Bearer user token that is forged, expired, or revoked by logout or a password change."""

    status = 401
    message = "invalid user token"


class EmailNotVerified(AuthError):
    status = 403
    message = "Email address not verified – please check your inbox"


class KeyAndTokenTogether(AuthError):
    status = 400
    message = "This is a mistake: Cannot use both API key and user token"
