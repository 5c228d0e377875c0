"""Typed authentication errors; the API and the editor render them through one handler.

Each error carries what the edge needs to answer (see the error convention in the contract):
`status`, SPEC's exact `message`, optional field `details` and extra response `headers`.
"""


class AuthError(Exception):
    status: int = 401
    message: str = "authentication failed"

    def __init__(self, message: str | None = None) -> None:
        if message is not None:
            self.message = message
        self.details: list[dict] | None = None
        self.headers: dict[str, str] = {}
        super().__init__(self.message)


class InvalidApiKey(AuthError):
    """Unknown, malformed or revoked API key, or a key whose owner is inactive."""

    status = 401
    message = "invalid api key"


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
