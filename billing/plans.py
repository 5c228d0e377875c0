"""Plans and prepaid packs, configured by the operator.

`BILLING_PLANS` / `BILLING_PACKS` hold JSON lists (empty = the defaults below). Each paid entry
maps to a Stripe Price ID, given as `"price_id"` in the JSON or through the environment variable
`STRIPE_PRICE_<SLUG>` (slug upper-cased, `-` → `_`, e.g. `STRIPE_PRICE_PREMIUM_1000`).
Each entry may also carry a display price: `"price"` (a decimal amount, e.g. 9 or "9.50"),
`"currency"` (ISO 4217, default USD) and, for plans, `"interval"` (month or year). The pricing page
shows it; when billing is on, the Stripe Price's own amount replaces it (billing/prices.py).
Settings parse both at start-up, so a typo stops the process with a clear message instead of
selling the wrong thing.
"""

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ImproperlyConfigured

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,49}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
INTERVALS = ("month", "year")
MAX_PRICE = Decimal("1000000")

DEFAULT_PLANS = [
    {"slug": "free", "label": "Free", "credits": 50, "rate_limit": "10/minute", "price": 0},
    {"slug": "premium-1000", "label": "Premium-1000", "credits": 1000, "rate_limit": "60/minute",
     "price": 9},
    {"slug": "premium-5000", "label": "Premium-5000", "credits": 5000, "rate_limit": "120/minute",
     "price": 29},
    {"slug": "premium-20000", "label": "Premium-20000", "credits": 20000, "rate_limit": "300/minute",
     "price": 79},
]
DEFAULT_PACKS = [
    {"slug": "pack-100", "label": "100 credits", "credits": 100, "price": 5},
    {"slug": "pack-1000", "label": "1,000 credits", "credits": 1000, "price": 35},
    {"slug": "pack-5000", "label": "5,000 credits", "credits": 5000, "price": 125},
]


@dataclass(frozen=True)
class Plan:
    slug: str
    label: str  # the `membership` value, e.g. "Premium-20000"
    credits: int  # included credits per billing window
    rate_limit: str  # short-term limit in `limits` notation, e.g. "60/minute"
    price_id: str = ""  # Stripe recurring Price; empty = not purchasable
    price: Decimal | None = None  # display amount per interval; None = not shown
    currency: str = "USD"
    interval: str = "month"


@dataclass(frozen=True)
class Pack:
    slug: str
    label: str
    credits: int
    price_id: str = ""  # Stripe one-time Price
    price: Decimal | None = None  # display amount; None = not shown
    currency: str = "USD"


def _rate_valid(rate: str) -> bool:
    from limits import parse

    try:
        parse(rate)
    except ValueError:
        return False
    return True


STRATEGIES = ("fixed-window", "moving-window", "sliding-window-counter")


def rate_checked(name: str, rate: str) -> str:
    if not _rate_valid(rate):
        raise ImproperlyConfigured(f"{name} must look like '10/minute' or '100 per hour', got {rate!r}")
    return rate.strip()


def strategy_checked(value: str) -> str:
    if value not in STRATEGIES:
        raise ImproperlyConfigured(f"BILLING_RATE_LIMIT_STRATEGY must be one of {', '.join(STRATEGIES)}")
    return value


def _price_env(slug: str, environ: Mapping[str, str]) -> str:
    return environ.get("STRIPE_PRICE_" + slug.upper().replace("-", "_"), "").strip()


def _entries(name: str, raw: str, default: list[dict]) -> list[dict]:
    if not raw.strip():
        return default
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ImproperlyConfigured(f"{name} must be a JSON list of objects: {exc}") from None
    if not isinstance(value, list) or not value or not all(isinstance(e, dict) for e in value):
        raise ImproperlyConfigured(f"{name} must be a non-empty JSON list of objects")
    return value


def _field(name: str, entry: dict, key: str, kind: type, *, required: bool = True, default=None):
    if key not in entry:
        if required:
            raise ImproperlyConfigured(f"{name}: entry {entry!r} is missing {key!r}")
        return default
    value = entry[key]
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ImproperlyConfigured(f"{name}: {key!r} must be an integer, got {value!r}")
    if kind is str and not isinstance(value, str):
        raise ImproperlyConfigured(f"{name}: {key!r} must be a string, got {value!r}")
    return value


def _price(name: str, entry: dict, slug: str) -> Decimal | None:
    raw = entry.get("price")
    if raw is None:
        return None
    try:
        if isinstance(raw, bool) or not isinstance(raw, int | float | str):
            raise InvalidOperation
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise ImproperlyConfigured(f"{name}: price of {slug!r} must be a number like 9 or \"9.50\"") from None
    if not value.is_finite() or not 0 <= value <= MAX_PRICE:
        raise ImproperlyConfigured(f"{name}: price of {slug!r} must be between 0 and {MAX_PRICE}")
    return value


def _currency(name: str, entry: dict, slug: str) -> str:
    currency = _field(name, entry, "currency", str, required=False, default="USD").strip().upper()
    if not _CURRENCY.match(currency):
        raise ImproperlyConfigured(f"{name}: currency of {slug!r} must be a 3-letter ISO code like USD")
    return currency


def _interval(name: str, entry: dict, slug: str) -> str:
    interval = _field(name, entry, "interval", str, required=False, default="month")
    if interval not in INTERVALS:
        raise ImproperlyConfigured(f"{name}: interval of {slug!r} must be one of {', '.join(INTERVALS)}")
    return interval


def _check_unique(name: str, items: Sequence, attr: str) -> None:
    seen: set[str] = set()
    for item in items:
        value = getattr(item, attr)
        if value in seen:
            raise ImproperlyConfigured(f"{name}: duplicate {attr} {value!r}")
        seen.add(value)


def _slug(name: str, entry: dict) -> str:
    slug = _field(name, entry, "slug", str)
    if not _SLUG.match(slug):
        raise ImproperlyConfigured(f"{name}: slug {slug!r} must be lower-case letters, digits and '-'")
    return slug


def plans_parse(raw: str, *, environ: Mapping[str, str], free_slug: str = "free") -> tuple[Plan, ...]:
    plans = []
    for entry in _entries("BILLING_PLANS", raw, DEFAULT_PLANS):
        slug = _slug("BILLING_PLANS", entry)
        credits = _field("BILLING_PLANS", entry, "credits", int)
        if credits < 0:
            raise ImproperlyConfigured(f"BILLING_PLANS: credits of {slug!r} must be at least 0")
        label = _field("BILLING_PLANS", entry, "label", str, required=False, default="") or slug
        rate = _field("BILLING_PLANS", entry, "rate_limit", str, required=False, default="60/minute")
        if not _rate_valid(rate):
            raise ImproperlyConfigured(f"BILLING_PLANS: rate_limit of {slug!r} must look like '60/minute'")
        price = _field("BILLING_PLANS", entry, "price_id", str, required=False, default="")
        amount = _price("BILLING_PLANS", entry, slug)
        if amount is None and slug == free_slug:
            amount = Decimal(0)  # the free plan costs nothing, whether or not the JSON says so
        plans.append(Plan(slug, label, credits, rate.strip(), price or _price_env(slug, environ), amount,
                          _currency("BILLING_PLANS", entry, slug), _interval("BILLING_PLANS", entry, slug)))
    _check_unique("BILLING_PLANS", plans, "slug")
    _check_unique("BILLING_PLANS", plans, "label")
    _check_unique("BILLING_PLANS", [p for p in plans if p.price_id], "price_id")
    if not any(p.slug == free_slug for p in plans):
        raise ImproperlyConfigured(f"BILLING_PLANS must contain the free plan {free_slug!r}")
    return tuple(plans)


def packs_parse(raw: str, *, environ: Mapping[str, str]) -> tuple[Pack, ...]:
    packs = []
    for entry in _entries("BILLING_PACKS", raw, DEFAULT_PACKS):
        slug = _slug("BILLING_PACKS", entry)
        credits = _field("BILLING_PACKS", entry, "credits", int)
        if credits < 1:
            raise ImproperlyConfigured(f"BILLING_PACKS: credits of {slug!r} must be at least 1")
        label = _field("BILLING_PACKS", entry, "label", str, required=False, default="") or slug
        price = _field("BILLING_PACKS", entry, "price_id", str, required=False, default="")
        packs.append(Pack(slug, label, credits, price or _price_env(slug, environ),
                          _price("BILLING_PACKS", entry, slug), _currency("BILLING_PACKS", entry, slug)))
    _check_unique("BILLING_PACKS", packs, "slug")
    _check_unique("BILLING_PACKS", [p for p in packs if p.price_id], "price_id")
    return tuple(packs)


# Lookups read settings at call time so tests (and admin reloads) can swap the catalogue.

def plans_all() -> tuple[Plan, ...]:
    from django.conf import settings

    return settings.BILLING_PLANS


def packs_all() -> tuple[Pack, ...]:
    from django.conf import settings

    return settings.BILLING_PACKS


def plan_free() -> Plan:
    from django.conf import settings

    return plan_get(settings.BILLING_FREE_PLAN)


def plan_get(slug: str) -> Plan:
    for plan in plans_all():
        if plan.slug == slug:
            return plan
    raise KeyError(slug)


def plan_by_label(label: str) -> Plan | None:
    return next((p for p in plans_all() if p.label == label), None)


def plan_by_price(price_id: str) -> Plan | None:
    return next((p for p in plans_all() if price_id and p.price_id == price_id), None)


def pack_get(slug: str) -> Pack:
    for pack in packs_all():
        if pack.slug == slug:
            return pack
    raise KeyError(slug)


def pack_by_price(price_id: str) -> Pack | None:
    return next((p for p in packs_all() if price_id and p.price_id == price_id), None)
