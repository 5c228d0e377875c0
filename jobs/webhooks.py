"""Signed webhooks of batch jobs, Stripe's scheme so users already know how to verify them:

    Cutout-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>

The secret is the job owner's (accounts.services.webhook_secret_get; shown and rotatable in the
profile). The README shows the verification in Python; `signature_verify` here is the same code.

callback_url: https only, or plain http to a host of the operator's JOBS_CALLBACK_HTTP_HOSTS. A
host must resolve to addresses image_url could reach (core.image_fetch.address_checked, the one
rule) unless the operator listed it: checked at submit, and each delivery connects only to the
address it has just checked (core.image_fetch.pinned_post), so DNS rebinding fails.
"""

import asyncio
import hashlib
import hmac
import ipaddress
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from asgiref.sync import async_to_sync
from django.conf import settings

from core.image_fetch import ImageUrlRefused, address_checked, pinned_post
from removal.errors import RemovalError

SIGNATURE_HEADER = "Cutout-Signature"
TOLERANCE = 300  # seconds a signature is accepted after its timestamp (replay window)


def signature_make(*, secret: str, body: bytes, timestamp: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def signature_verify(*, secret: str, header: str, body: bytes, tolerance: int = TOLERANCE,
                     now: float | None = None) -> bool:
    """True when `header` signs `body` with `secret` and is recent (the README's verification)."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((now or time.time()) - timestamp) > tolerance:
        return False
    expected = signature_make(secret=secret, body=body, timestamp=timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


HTTPS_ONLY = "'callback_url' must be an https:// URL"


def _scheme_refusal(url: str) -> str | None:
    parts = urlsplit(url)
    trusted_http = parts.scheme == "http" and (parts.hostname or "") in settings.JOBS_CALLBACK_HTTP_HOSTS
    return None if parts.hostname and (parts.scheme == "https" or trusted_http) else HTTPS_ONLY


def callback_url_error(url: str) -> str | None:
    """Why `url` may not receive webhooks, or None when it may. The address check is image_url's
    (core.image_fetch.address_checked: the same classification, IMAGE_URL_ALLOW_NETWORKS); an
    internal address written as such is named whatever the scheme, a name is resolved only for a
    URL whose scheme is acceptable."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if not host or parts.scheme not in ("http", "https"):
        return HTTPS_ONLY
    literal = _is_address(host)
    if not literal and (refusal := _scheme_refusal(url)):
        return refusal
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        async_to_sync(address_checked)(host, port, field="callback_url",
                                       trusted=host in settings.JOBS_CALLBACK_HTTP_HOSTS)
    except ImageUrlRefused as exc:
        return exc.message
    except ValueError:  # a port out of range
        return HTTPS_ONLY
    return _scheme_refusal(url)


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Delivery:
    status: int  # the receiver's HTTP status; 0 when it did not answer (refused, timeout, refused URL)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def webhook_post(*, url: str, body: bytes, secret: str, event_id: str) -> Delivery:
    """One attempt: POST the signed event with JOBS_WEBHOOK_TIMEOUT; never raises."""
    if _scheme_refusal(url) is not None:  # the address is checked by the pinned POST itself
        return Delivery(status=0)
    headers = {"Content-Type": "application/json", "User-Agent": "Cutout-Webhooks/1",
               "Cutout-Event-Id": event_id,
               SIGNATURE_HEADER: signature_make(secret=secret, body=body, timestamp=int(time.time()))}
    # Connects to the address checked for the name (image_url's pinned fetcher): no DNS rebinding.
    post = pinned_post(url, body=body, headers=headers, timeout=settings.JOBS_WEBHOOK_TIMEOUT,
                       trusted_hosts=tuple(settings.JOBS_CALLBACK_HTTP_HOSTS))
    try:
        return Delivery(status=asyncio.run(post))
    except (RemovalError, httpx.HTTPError, OSError, ValueError):  # refused, reset, timed out, unreadable
        return Delivery(status=0)


def backoff_seconds(attempt: int) -> float:
    """Wait before attempt `attempt + 1`: BACKOFF × 2^(attempt − 1), at most JOBS_WEBHOOK_MAX_BACKOFF
    (half the broker's visibility timeout: settings.py says why)."""
    return min(settings.JOBS_WEBHOOK_BACKOFF * 2 ** max(attempt - 1, 0), settings.JOBS_WEBHOOK_MAX_BACKOFF)
