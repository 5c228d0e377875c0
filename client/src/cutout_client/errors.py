"""Typed errors carrying what the server said: `status`, `error` (the message) and `details`.

The server answers every failure as JSON `{"error": msg, "details"?: [{field, message}], "status": n}`;
`error_from_response` turns that into the matching subclass so callers can write
`except cutout_client.RateLimited:` instead of comparing status codes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


class CutoutError(Exception):
    """Base of every error this package raises.

    status:  the HTTP status, or None when no response arrived (network failure, bad configuration)
    error:   the server's message (SPEC's exact text), or ours
    details: per-field validation errors, `[{"field": ..., "message": ...}]`, or None
    headers: the response headers (e.g. Retry-After, RateLimit-*); empty without a response
    """

    def __init__(self, error: str, *, status: int | None = None, details: list[dict] | None = None,
                 headers: Mapping[str, str] | None = None):
        super().__init__(error)
        self.error = error
        self.status = status
        self.details = details
        self.headers = dict(headers or {})

    def __str__(self) -> str:
        text = f"{self.status} {self.error}" if self.status else self.error
        if self.details and len(self.details) > 1:
            text += "".join(f"\n  {d.get('field')}: {d.get('message')}" for d in self.details)
        return text

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}(status={self.status!r}, error={self.error!r}, details={self.details!r})"


class ConfigurationError(CutoutError):
    """Missing API key, unreadable input image or another mistake found before any request."""


class NetworkError(CutoutError):
    """The server could not be reached or the connection broke (after the configured retries)."""


class BadRequest(CutoutError):
    """400: a field or the image was rejected; `details` lists every field error."""


class Unauthorized(CutoutError):
    """401: unknown or revoked API key."""


class Forbidden(CutoutError):
    """403: e.g. the key owner's email address is not verified."""


class RateLimited(CutoutError):
    """429: too many requests, daily limit or no credits left. `retry_after` is in seconds, or None
    when waiting will not help (monthly credits used up)."""

    @property
    def retry_after(self) -> float | None:
        return retry_after_parse(self.headers.get("retry-after"))


class ServerError(CutoutError):
    """5xx: the server failed; nothing was charged."""


class ServiceUnavailable(ServerError):
    """503: the server is temporarily unable to meter or process requests; retry later."""


_BY_STATUS: dict[int, type[CutoutError]] = {
    400: BadRequest, 401: Unauthorized, 403: Forbidden, 429: RateLimited, 503: ServiceUnavailable,
}


def error_class(status: int) -> type[CutoutError]:
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    return ServerError if status >= 500 else CutoutError


def error_from_response(status: int, body: bytes, headers: Mapping[str, str]) -> CutoutError:
    """Build the typed error for a non-2xx response; tolerate non-JSON bodies (e.g. a proxy's page)."""
    message, details = None, None
    try:
        payload: Any = json.loads(body.decode("utf-8")) if body else None
    except (UnicodeDecodeError, ValueError):
        payload = None
    if isinstance(payload, dict):
        raw = payload.get("error", payload.get("detail"))
        message = raw if isinstance(raw, str) else (json.dumps(raw) if raw is not None else None)
        if isinstance(payload.get("details"), list):
            details = payload["details"]
    if message is None:
        text = body.decode("utf-8", "replace").strip()
        message = text[:300] if text else f"HTTP {status}"
    lowered = {key.lower(): value for key, value in headers.items()}
    return error_class(status)(message, status=status, details=details, headers=lowered)


def retry_after_parse(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date; None if absent/bad."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    import time

    return max(0.0, when.timestamp() - (time.time() if now is None else now))
