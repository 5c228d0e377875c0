"""Fixtures for the account pages: a Stripe-configured catalogue, state made through billing's own
functions (signed webhook deliveries, credits_reserve/commit), and an HTML reader for data-testid."""

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
import stripe
from django.conf import settings

from billing import quota
from billing.plans import packs_parse, plans_parse
from billing.webhooks import webhook_handle
from tests.billing.stripe_servers import StripeRecorder, stripe_at

WEBHOOK_SECRET = "whsec_test_pages"
PLANS_JSON = json.dumps([
    {"slug": "free", "label": "Free", "credits": 10, "rate_limit": "5/minute"},
    {"slug": "premium-1000", "label": "Premium-1000", "credits": 1000, "rate_limit": "60/minute",
     "price_id": "price_premium_1000", "price": 10},
    {"slug": "premium-5000", "label": "Premium-5000", "credits": 5000, "rate_limit": "120/minute",
     "price_id": "price_premium_5000", "price": "30.50", "currency": "eur"},
])
PACKS_JSON = json.dumps([
    {"slug": "pack-100", "label": "100 credits", "credits": 100, "price_id": "price_pack_100", "price": 6},
    {"slug": "pack-1000", "label": "1,000 credits", "credits": 1000, "price_id": "price_pack_1000"},
])
# What Stripe's API answers for those Price IDs (amounts in cents, as Stripe sends them).
STRIPE_PRICES = {
    "price_premium_1000": {"unit_amount": 900, "currency": "usd", "recurring": {"interval": "month"}},
    "price_premium_5000": {"unit_amount": 2900, "currency": "usd", "recurring": {"interval": "month"}},
    "price_pack_100": {"unit_amount": 500, "currency": "usd", "recurring": None},
    "price_pack_1000": {"unit_amount": 3500, "currency": "usd", "recurring": None},
}


@pytest.fixture(autouse=True)
def pages_settings(settings):
    """A known catalogue (Free = 10 credits, Premium-1000, two packs) and Stripe on with test keys."""
    settings.BILLING_PLANS = plans_parse(PLANS_JSON, environ={})
    settings.BILLING_PACKS = packs_parse(PACKS_JSON, environ={})
    settings.BILLING_FREE_PLAN = "free"
    settings.STRIPE_SECRET_KEY = "sk_test_pages"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    # as `make test` does (STATIC_MANIFEST=false): plain static names, so pages render without collectstatic
    settings.STORAGES = settings.STORAGES | {
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    return settings


@pytest.fixture(autouse=True)
def stripe_price_api():
    """Stripe's `GET /v1/prices/{id}` answered over HTTP by a loopback recorder (tests/billing/
    stripe_servers.py) the SDK is pointed at; it records each request, so no page reaches the network."""
    recorder = StripeRecorder()
    recorder.prices = {price_id: {"unit_amount_decimal": None} | price for price_id, price in STRIPE_PRICES.items()}
    with stripe_at(recorder.url):
        yield recorder
    recorder.close()


@pytest.fixture
def page_for(chromium, client, live_server):
    """A page, signed in as `user` (a session cookie from Django's test client) or anonymous."""

    def _page(user=None, *, width=1280, height=900):
        context = chromium.new_context(viewport={"width": width, "height": height})
        if user is not None:
            client.force_login(user)
            cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
            context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie,
                                  "url": live_server.url}])
        return context.new_page()

    return _page


def deliver(type_: str, obj: dict) -> str:
    """Apply one Stripe event through billing's webhook service, signed as Stripe would sign it."""
    event = {"id": f"evt_{uuid.uuid4().hex}", "object": "event", "type": type_,
             "created": int(datetime.now(UTC).timestamp()), "livemode": False, "data": {"object": obj}}
    payload = json.dumps(event)
    signature = stripe.WebhookSignature.generate_signature_header(
        payload, WEBHOOK_SECRET, int(datetime.now(UTC).timestamp()))
    return webhook_handle(payload=payload.encode(), signature=signature)


def invoice_paid(user, *, start: int, end: int, price: str = "price_premium_1000") -> str:
    """A renewal: Stripe's `invoice.paid` for the subscription period [start, end)."""
    line = {"id": f"il_{uuid.uuid4().hex[:8]}", "object": "line_item", "period": {"start": start, "end": end},
            "pricing": {"price_details": {"price": price}}}
    invoice = {"id": f"in_{uuid.uuid4().hex[:10]}", "object": "invoice", "customer": f"cus_{user.pk}",
               "status": "paid", "lines": {"object": "list", "data": [line]},
               "parent": {"subscription_details": {"subscription": f"sub_{user.pk}",
                                                   "metadata": {"user_id": str(user.pk)}}}}
    return deliver("invoice.paid", invoice)


def pack_bought(user, *, slug: str = "pack-100", credits: int = 100) -> str:
    session = {"id": f"cs_{uuid.uuid4().hex[:10]}", "object": "checkout.session", "mode": "payment",
               "payment_status": "paid", "customer": f"cus_{user.pk}", "client_reference_id": str(user.pk),
               "metadata": {"user_id": str(user.pk), "kind": "pack", "slug": slug, "credits": str(credits)}}
    return deliver("checkout.session.completed", session)


def spend(user, *, source: str, count: int, now: datetime) -> None:
    for _ in range(count):
        quota.credits_commit(reservation=quota.credits_reserve(user_id=user.pk, source=source, now=now))


@dataclass(frozen=True)
class Seeded:
    user: object
    previous: tuple[int, int]  # (periodStartUnix, periodEndUnix) of the older Stripe period
    current: tuple[int, int]


@pytest.fixture
def seeded(alice):
    """alice on Premium-1000: usage in two Stripe periods (the current one holds today) and 100 prepaid.

    previous period: 3 app + 2 API images; current period: 1 app + 4 API images.
    """
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    p1, p2, p3 = now - timedelta(days=40), now - timedelta(days=10), now + timedelta(days=20)
    start1, start2, start3 = (int(t.timestamp()) for t in (p1, p2, p3))
    assert invoice_paid(alice, start=start1, end=start2) == "processed"
    spend(alice, source="app", count=3, now=p1 + timedelta(days=1))
    spend(alice, source="api", count=2, now=p1 + timedelta(days=2))
    assert invoice_paid(alice, start=start2, end=start3) == "processed"
    spend(alice, source="app", count=1, now=p2 + timedelta(days=1))
    spend(alice, source="api", count=4, now=p2 + timedelta(days=3))
    assert pack_bought(alice) == "processed"
    return Seeded(alice, (start1, start2 - 1), (start2, start3 - 1))


_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _TestIds(HTMLParser):
    """Collects elements with a data-testid (attributes + text), <option>s and the chart's day groups."""

    def __init__(self) -> None:
        super().__init__()
        self.found: dict[str, dict] = {}
        self.options: list[dict] = []
        self.days: list[dict] = []
        self._stack: list[str | None] = []  # the data-testid of each open element (None if it has none)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        testid = attrs.get("data-testid")
        if testid:
            self.found[testid] = attrs | {"text": ""}
        if tag == "option":
            self.options.append(attrs)
        if tag == "g" and "day" in (attrs.get("class") or "").split():
            self.days.append(attrs)
        if tag not in _VOID:
            self._stack.append(testid)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self._stack.pop()

    def handle_data(self, data):
        for testid in self._stack:
            if testid:
                self.found[testid]["text"] += data

    def handle_endtag(self, tag):
        if tag not in _VOID and self._stack:
            self._stack.pop()


@dataclass
class Page:
    ids: dict[str, dict]
    options: list[dict]
    days: list[dict]

    def value(self, testid: str) -> int:
        return int(self.ids[testid]["data-value"])

    def text(self, testid: str) -> str:
        return " ".join(self.ids[testid]["text"].split())


def page_read(html: str) -> Page:
    parser = _TestIds()
    parser.feed(html)
    return Page(parser.found, parser.options, parser.days)
