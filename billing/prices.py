"""Display prices for the pricing page: the operator's configured amount (billing/plans.py), or the
Stripe Price's own amount when billing is on, so the page shows what Checkout will charge.

Stripe is asked once for the whole catalogue and the answer kept in Django's cache (Redis, shared
by every process) for STRIPE_PRICES_CACHE_SECONDS; a page view that finds the cache warm never
calls Stripe. A failed fetch is remembered for a shorter time, so an outage at Stripe shows the
configured prices instead of slowing every page view down.
"""

import hashlib
import logging
from dataclasses import dataclass
from decimal import Decimal

import redis
from django.core.cache import cache

from billing import stripe_client
from billing.errors import BillingError
from billing.plans import Pack, Plan, packs_all, plans_all

log = logging.getLogger(__name__)
STRIPE_PRICES_CACHE_SECONDS = 3600
STRIPE_PRICES_RETRY_SECONDS = 300
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CAD": "CA$", "AUD": "A$", "INR": "₹"}


@dataclass(frozen=True)
class DisplayPrice:
    amount: Decimal
    currency: str
    interval: str  # "month" / "year" for a plan, "" for a one-time pack
    credits: int
    from_stripe: bool

    @property
    def text(self) -> str:
        return money_format(amount=self.amount, currency=self.currency)

    @property
    def per_image(self) -> str:
        """"$0.05" for 100 credits at $5; empty for a free plan."""
        if not self.amount or not self.credits:
            return ""
        return money_format(amount=self.amount / self.credits, currency=self.currency, per_unit=True)


def money_format(*, amount: Decimal, currency: str, per_unit: bool = False) -> str:
    """$9, $9.50, 12 SEK; `per_unit` keeps two significant digits of small amounts ($0.029)."""
    places = 0 if amount == amount.to_integral_value() and not per_unit else 2
    if per_unit and amount:
        places = min(4, max(2, 1 - amount.adjusted()))
    number = f"{amount:,.{places}f}"
    while per_unit and "." in number and len(number.split(".")[1]) > 2 and number.endswith("0"):
        number = number[:-1]
    symbol = _SYMBOLS.get(currency)
    return f"{symbol}{number}" if symbol else f"{number} {currency}"


def _price_ids() -> list[str]:
    ids = [plan.price_id for plan in plans_all()] + [pack.price_id for pack in packs_all()]
    return sorted({price_id for price_id in ids if price_id})


def _fetch(price_ids: list[str]) -> dict[str, tuple[str, str, str]]:
    found = {}
    for price_id in price_ids:
        price = stripe_client.price_retrieve(price_id=price_id)
        if price is not None:
            found[price_id] = (str(price.amount), price.currency, price.interval)
    return found


def stripe_prices() -> dict[str, tuple[str, str, str]]:
    """{price_id: (amount, currency, interval)} for the catalogue's Stripe Prices; {} when billing
    is off, when Stripe failed a moment ago, or when the cache cannot be reached."""
    price_ids = _price_ids()
    if not stripe_client.stripe_enabled() or not price_ids:
        return {}
    key = "billing:stripe-prices:" + hashlib.sha256(" ".join(price_ids).encode()).hexdigest()[:16]
    try:
        cached = cache.get(key)
        if cached is not None:
            return cached
        try:
            found, ttl = _fetch(price_ids), STRIPE_PRICES_CACHE_SECONDS
        except BillingError:
            found, ttl = {}, STRIPE_PRICES_RETRY_SECONDS
        cache.set(key, found, ttl)
    except (redis.RedisError, OSError) as exc:  # no cache, no Stripe: never one call per page view
        log.warning("price cache unavailable, showing configured prices: %s", exc)
        return {}
    return found


def display_price(*, item: Plan | Pack, stripe: dict[str, tuple[str, str, str]]) -> DisplayPrice | None:
    interval = getattr(item, "interval", "")
    if item.price_id in stripe:
        amount, currency, stripe_interval = stripe[item.price_id]
        return DisplayPrice(Decimal(amount), currency, stripe_interval, item.credits, True)
    if item.price is None:
        return None
    return DisplayPrice(item.price, item.currency, interval, item.credits, False)


def catalogue_priced() -> tuple[list[dict], list[dict]]:
    """Plans and packs, each as {"item": ..., "price": DisplayPrice | None}, for the pricing page."""
    stripe = stripe_prices()
    plans = [{"item": plan, "price": display_price(item=plan, stripe=stripe)} for plan in plans_all()]
    packs = [{"item": pack, "price": display_price(item=pack, stripe=stripe)} for pack in packs_all()]
    return plans, packs
