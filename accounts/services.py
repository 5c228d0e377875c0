"""Who is calling: accounts, API keys, user tokens and the client IP, decided in one place.

The API (`POST /rmbg`, `/api/membership-usage`) and the editor both call `caller_identify`;
the profile page calls the `api_key_*` functions. All functions are synchronous.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import secrets
import string
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core import signing
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.errors import (
    EmailNotVerified,
    InvalidApiKey,
    InvalidUserToken,
    KeyAndTokenTogether,
)
from accounts.models import API_KEY_PREFIX, TEST_KEY_PREFIX, AccountState, ApiKey

PUBLIC_ID_LENGTH = 8
_PUBLIC_ID_ALPHABET = string.ascii_lowercase + string.digits
# "ck_live_" (or "ck_test_") + 8-char public id + "_" + secret; the secret is token_urlsafe(32):
# 43 characters.
_SECRET_START = len(API_KEY_PREFIX) + PUBLIC_ID_LENGTH + 1
LAST_USED_RESOLUTION = timedelta(seconds=60)
log = logging.getLogger(__name__)
USER_TOKEN_SALT = "cutout.user-token"


@dataclass(frozen=True)
class Caller:
    user: AbstractBaseUser | None  # django.contrib.auth User; None when anonymous
    source: Literal["api", "app", "anonymous"]
    ip: str
    api_key_id: int | None = None
    # A test key (ck_test_…): processed small, never charged nor counted (cutouts.service and
    # billing.charge read it); the rate limit has its own window (billing/ratelimit.py).
    test_mode: bool = False


# --- identification -------------------------------------------------------------------------


def caller_identify(
    *, api_key: str | None, bearer: str | None, remote_addr: str, forwarded_for: str | None
) -> Caller:
    """Return who is calling, or raise an AuthError subclass.

    `None` means "header absent"; an empty string is a credential that fails to verify.
    """
    ip = client_ip(remote_addr=remote_addr, forwarded_for=forwarded_for)
    if api_key is not None and bearer is not None:
        raise KeyAndTokenTogether()
    if api_key is not None:
        key = _api_key_verify(api_key)
        _require_verified_email(key.user)
        _api_key_touch(key)
        return Caller(user=key.user, source="api", ip=ip, api_key_id=key.pk, test_mode=key.is_test)
    if bearer is not None:
        user = _user_token_verify(bearer)
        _require_verified_email(user)
        return Caller(user=user, source="app", ip=ip)
    return Caller(user=None, source="anonymous", ip=ip)


def client_ip(*, remote_addr: str, forwarded_for: str | None) -> str:
    """The client address: REMOTE_ADDR, or X-Forwarded-For when the peer is a trusted proxy.

    Each proxy appends the address it saw, so the right-most hop that is not one of our own
    proxies is the client; anything left of it was written by the client and can be forged.
    """
    trusted = _trusted_networks()
    if not forwarded_for or not _in_networks(remote_addr, trusted):
        return remote_addr
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return remote_addr  # a mangled header from our own proxy chain: trust only the peer
        if not _in_networks(hop, trusted):
            return hop
    return hops[0] if hops else remote_addr


def _trusted_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    # Entries may be single addresses or CIDR networks (e.g. a Docker bridge).
    return [ipaddress.ip_network(entry, strict=False) for entry in settings.TRUSTED_PROXIES]


def _in_networks(address: str, networks: list) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


# --- email verification -----------------------------------------------------------------------


def email_is_verified(*, user) -> bool:
    return EmailAddress.objects.filter(user=user, primary=True, verified=True).exists()


def _require_verified_email(user) -> None:
    if not email_is_verified(user=user):
        raise EmailNotVerified()


# --- API keys ---------------------------------------------------------------------------------


def api_key_create(*, user, name: str, is_test: bool = False) -> tuple[ApiKey, str]:
    """Create a key and return it with its plain text, which exists only in this return value."""
    secret = secrets.token_urlsafe(32)
    prefix = TEST_KEY_PREFIX if is_test else API_KEY_PREFIX
    for _attempt in range(5):
        public_id = "".join(secrets.choice(_PUBLIC_ID_ALPHABET) for _ in range(PUBLIC_ID_LENGTH))
        plaintext = f"{prefix}{public_id}_{secret}"
        try:
            # The savepoint keeps an outer transaction usable if the public id collides.
            with transaction.atomic():
                key = ApiKey.objects.create(user=user, name=name.strip(), public_id=public_id,
                                            secret_hash=_key_hash(plaintext), is_test=is_test)
        except IntegrityError:
            continue
        return key, plaintext
    raise RuntimeError("could not allocate a unique API key id")


def api_key_list(*, user) -> list[ApiKey]:
    return list(ApiKey.objects.filter(user=user, revoked_at__isnull=True))


def api_key_revoke(*, user, key_id: int) -> bool:
    """Revoke one of the user's keys; the next request with it gets 401. False if not theirs."""
    updated = ApiKey.objects.filter(pk=key_id, user=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    return updated == 1


def _key_hash(plaintext: str) -> str:
    # The key carries 256 random bits, so a fast unsalted hash cannot be brute-forced.
    return hashlib.sha256(plaintext.encode()).hexdigest()


def _api_key_verify(plaintext: str) -> ApiKey:
    plaintext = plaintext.strip()
    # The hash covers the prefix too, so a live key cannot be turned into a test key or back.
    if (not plaintext.startswith((API_KEY_PREFIX, TEST_KEY_PREFIX))
            or plaintext[_SECRET_START - 1 : _SECRET_START] != "_"):
        raise InvalidApiKey()
    public_id = plaintext[len(API_KEY_PREFIX) : _SECRET_START - 1]
    key = (
        ApiKey.objects.select_related("user")
        .filter(public_id=public_id, revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if key is None or not hmac.compare_digest(key.secret_hash, _key_hash(plaintext)):
        raise InvalidApiKey()
    return key


def _api_key_touch(key: ApiKey) -> None:
    """Record use at most once per LAST_USED_RESOLUTION per key, not on every request."""
    now = timezone.now()
    cutoff = now - LAST_USED_RESOLUTION
    if key.last_used_at is not None and key.last_used_at > cutoff:
        return
    # Conditional so concurrent requests with the same key write once between them.
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lte=cutoff)
    try:
        ApiKey.objects.filter(stale, pk=key.pk).update(last_used_at=now)
    except OperationalError:  # a busy SQLite ("table is locked"): the next request records it
        log.warning("last use of key %s not recorded (database busy)", key.prefix, exc_info=True)


# --- user tokens ------------------------------------------------------------------------------


def user_token_issue(*, user) -> str:
    """A short-lived signed token for the signed-in web app's own `Authorization: Bearer` calls.

    It dies after USER_TOKEN_MAX_AGE seconds, when the user logs out anywhere (the generation
    moves on) and when the password changes (the session auth hash moves on).
    """
    state, _ = AccountState.objects.get_or_create(user=user)
    payload = {"u": user.pk, "g": state.token_generation, "p": _password_fingerprint(user)}
    return signing.TimestampSigner(salt=USER_TOKEN_SALT).sign_object(payload)


def user_tokens_revoke(*, user) -> None:
    """Invalidate every user token issued so far to this user."""
    AccountState.objects.filter(user=user).update(token_generation=F("token_generation") + 1)


def _user_token_verify(token: str):
    signer = signing.TimestampSigner(salt=USER_TOKEN_SALT)
    try:
        payload = signer.unsign_object(token.strip(), max_age=settings.USER_TOKEN_MAX_AGE)
        user_id, generation, fingerprint = int(payload["u"]), payload["g"], str(payload["p"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise InvalidUserToken() from None
    user = (
        get_user_model()
        .objects.select_related("account_state")
        .filter(pk=user_id, is_active=True, account_state__isnull=False)
        .first()
    )
    if (
        user is None
        or user.account_state.token_generation != generation
        or not hmac.compare_digest(_password_fingerprint(user), fingerprint)
    ):
        raise InvalidUserToken()
    return user


def _password_fingerprint(user) -> str:
    # get_session_auth_hash() is an HMAC of the password hash; hash it again so the token
    # (readable, only signed) does not carry a value that also authenticates sessions.
    return hashlib.sha256(user.get_session_auth_hash().encode()).hexdigest()[:16]


# --- webhook signing secret (batch jobs) ----------------------------------------------------

WEBHOOK_SECRET_PREFIX = "whsec_"


def _webhook_secret_new() -> str:
    return WEBHOOK_SECRET_PREFIX + secrets.token_hex(24)


def webhook_secret_get(*, user) -> str:
    """The user's webhook signing secret, created on first use."""
    state, _ = AccountState.objects.get_or_create(user=user)
    if not state.webhook_secret:
        unset = AccountState.objects.filter(pk=state.pk, webhook_secret="")
        unset.update(webhook_secret=_webhook_secret_new())  # two first uses at once: one secret wins
        state.refresh_from_db(fields=["webhook_secret"])
    return state.webhook_secret


def webhook_secret_rotate(*, user) -> str:
    """A new secret; webhooks signed from now on use it (the old one stops verifying)."""
    state, _ = AccountState.objects.get_or_create(user=user)
    state.webhook_secret = _webhook_secret_new()
    state.save(update_fields=["webhook_secret"])
    return state.webhook_secret
