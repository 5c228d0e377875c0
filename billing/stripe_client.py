"""The one module that talks to Stripe. Billing is off until STRIPE_SECRET_KEY is set; the webhook
also needs STRIPE_WEBHOOK_SECRET. SDK errors become our typed errors here."""

import json
import logging
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import cast

import stripe
from django.conf import settings

from billing.errors import BillingOff, PaymentProviderError, WebhookInvalid

log = logging.getLogger(__name__)
SIGNATURE_TOLERANCE = 300  # seconds; Stripe's default, rejects replays of old signed payloads


def stripe_enabled() -> bool:
    return bool(settings.STRIPE_SECRET_KEY)


def config_check() -> list[str]:
    """Problems with the Stripe configuration, reported once at start-up (see apps.py)."""
    if not stripe_enabled():
        return ["STRIPE_SECRET_KEY is not set: billing is off, purchase buttons say so"]
    problems = []
    if not settings.STRIPE_WEBHOOK_SECRET:
        problems.append("STRIPE_WEBHOOK_SECRET is not set: Stripe webhooks will be refused")
    from billing.plans import packs_all, plans_all

    if not any(p.price_id for p in plans_all()) and not any(p.price_id for p in packs_all()):
        problems.append("no plan or pack has a Stripe Price ID (STRIPE_PRICE_<SLUG>): nothing can be bought")
    return problems


def _api_key() -> str:
    if not stripe_enabled():
        raise BillingOff()
    return settings.STRIPE_SECRET_KEY


# Stripe amounts are in the currency's smallest unit; these currencies have none or three decimals.
_ZERO_DECIMAL = {"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND",
                 "VUV", "XAF", "XOF", "XPF"}
_THREE_DECIMAL = {"BHD", "JOD", "KWD", "OMR", "TND"}


@dataclass(frozen=True)
class StripePrice:
    amount: Decimal  # in currency units, e.g. Decimal("9.00")
    currency: str  # upper-case ISO 4217
    interval: str  # "month" / "year" for a recurring Price, "" for a one-time one


def _units(minor: str | int, currency: str) -> Decimal:
    places = 0 if currency in _ZERO_DECIMAL else 3 if currency in _THREE_DECIMAL else 2
    return Decimal(str(minor)).scaleb(-places)


def price_retrieve(*, price_id: str) -> StripePrice | None:
    """The amount Stripe will charge for `price_id`; None for a tiered or metered Price (no one amount)."""
    try:
        price = stripe.Price.retrieve(price_id, api_key=_api_key()).to_dict()
    except stripe.StripeError as exc:
        log.warning("stripe price %s not readable: %s", price_id, exc)
        raise PaymentProviderError() from exc
    minor = price.get("unit_amount_decimal") or price.get("unit_amount")
    if minor is None:
        return None
    currency = str(price.get("currency") or "usd").upper()
    recurring = price.get("recurring") or {}
    return StripePrice(_units(minor, currency), currency, str(recurring.get("interval") or ""))


def checkout_session_create(*, mode: str, price_id: str, customer_id: str | None, customer_email: str,
                            client_reference_id: str, metadata: dict[str, str], success_url: str,
                            cancel_url: str) -> str:
    """Create a Checkout Session (`mode` "subscription" or "payment") and return its URL."""
    params: dict = {
        "mode": mode,
        "line_items": [{"price": price_id, "quantity": 1}],
        "success_url": success_url,
        "cancel_url": cancel_url,
        "client_reference_id": client_reference_id,
        "metadata": metadata,
    }
    if customer_id:
        params["customer"] = customer_id
    else:
        params["customer_email"] = customer_email
        if mode == "payment":
            params["customer_creation"] = "always"  # so the portal and later purchases find the customer
    # Metadata on the subscription / payment lets webhooks find the user whatever arrives first.
    if mode == "subscription":
        params["subscription_data"] = {"metadata": metadata}
    else:
        params["payment_intent_data"] = {"metadata": metadata}
    try:
        session = stripe.checkout.Session.create(api_key=_api_key(), **params)
    except stripe.StripeError as exc:
        log.warning("stripe checkout failed: %s", exc)
        raise PaymentProviderError() from exc
    return cast(str, session.url)  # None only for the embedded and custom UI modes; ours is hosted


def portal_session_create(*, customer_id: str, return_url: str) -> str:
    try:
        session = stripe.billing_portal.Session.create(
            api_key=_api_key(), customer=customer_id, return_url=return_url
        )
    except stripe.StripeError as exc:
        log.warning("stripe portal failed: %s", exc)
        raise PaymentProviderError() from exc
    return session.url


def webhook_event_parse(*, payload: bytes, signature: str | None) -> dict:
    """Verify the `Stripe-Signature` header over the raw body and return the event as plain dicts."""
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        raise BillingOff("Billing is off: STRIPE_WEBHOOK_SECRET is not configured.")
    try:
        stripe.Webhook.construct_event(payload, signature or "", secret, tolerance=SIGNATURE_TOLERANCE)
        event = json.loads(payload)
    except (ValueError, stripe.SignatureVerificationError) as exc:  # UnicodeDecodeError is a ValueError
        raise WebhookInvalid() from exc
    if _signed_at(signature or "") > time.time() + SIGNATURE_TOLERANCE:
        raise WebhookInvalid()  # the SDK only refuses old timestamps; a future one is as suspect
    if not isinstance(event, dict) or not event.get("id") or not event.get("type"):
        raise WebhookInvalid()
    return event


def _signed_at(signature: str) -> int:
    """The `t=` of a `Stripe-Signature` header the SDK has already verified (so it is there)."""
    stamps = [value for key, _, value in (item.partition("=") for item in signature.split(",")) if key == "t"]
    return int(stamps[0])
