"""Billing fixtures: a Stripe-configured catalogue, signed webhook deliveries, Redis helpers."""

import json
import os
import threading
import time
from collections.abc import Callable

import pytest
import stripe
from django.db import connection

from billing.plans import packs_parse, plans_parse

WEBHOOK_SECRET = "whsec_test_cutout"
PLANS_JSON = json.dumps([
    {"slug": "free", "label": "Free", "credits": 10, "rate_limit": "5/minute"},
    {"slug": "premium-1000", "label": "Premium-1000", "credits": 1000, "rate_limit": "60/minute",
     "price_id": "price_premium_1000"},
    {"slug": "premium-20000", "label": "Premium-20000", "credits": 20000, "rate_limit": "300/minute",
     "price_id": "price_premium_20000"},
])
PACKS_JSON = json.dumps([
    {"slug": "pack-100", "label": "100 credits", "credits": 100, "price_id": "price_pack_100"},
])


@pytest.fixture(autouse=True)
def billing_settings(settings):
    """A known catalogue (Free = 10 credits) and Stripe switched on with test keys."""
    settings.BILLING_PLANS = plans_parse(PLANS_JSON, environ={})
    settings.BILLING_PACKS = packs_parse(PACKS_JSON, environ={})
    settings.BILLING_FREE_PLAN = "free"
    settings.STRIPE_SECRET_KEY = "sk_test_cutout"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.BILLING_ANON_DAILY_LIMIT = 3
    settings.BILLING_ANON_RATE_LIMIT = "4/minute"
    return settings


def sign(payload: str, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """The `Stripe-Signature` header Stripe would send: t=<ts>,v1=<hex hmac_sha256(secret, "t.payload")>."""
    return stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp or int(time.time()))


@pytest.fixture
def deliver(client):
    """POST an event to the webhook, signed; returns the response."""

    def _deliver(event: dict, *, signature: str | None = None, body: str | None = None):
        payload = body if body is not None else json.dumps(event)
        return client.post("/billing/webhook/", data=payload, content_type="application/json",
                           headers={"Stripe-Signature": signature or sign(payload)})

    return _deliver


_counter = iter(range(1, 10**9))


def event(type_: str, obj: dict, *, created: int | None = None, event_id: str | None = None) -> dict:
    return {
        "id": event_id or f"evt_{os.getpid()}_{next(_counter)}", "object": "event", "type": type_,
        "created": created or int(time.time()), "livemode": False, "api_version": "2026-10-28.endive",
        "data": {"object": obj},
    }


def subscription(user, *, sub_id="sub_1", status="active", price="price_premium_1000",
                 start=1767225600, end=1769904000, on_items=True, customer="cus_1") -> dict:
    """A Subscription object; new API versions carry the period on items, old ones on the subscription."""
    item = {"id": "si_1", "object": "subscription_item", "price": {"id": price}, "quantity": 1}
    obj = {"id": sub_id, "object": "subscription", "customer": customer, "status": status,
           "metadata": {"user_id": str(user.pk)}, "items": {"object": "list", "data": [item]}}
    if on_items:
        item.update(current_period_start=start, current_period_end=end)
    else:
        obj.update(current_period_start=start, current_period_end=end)
    return obj


def invoice(user=None, *, inv_id="in_1", sub_id="sub_1", price="price_premium_1000", start=1767225600,
            end=1769904000, new_api=True, customer="cus_1") -> dict:
    metadata = {"user_id": str(user.pk)} if user else {}
    line = {"id": "il_1", "object": "line_item", "period": {"start": start, "end": end}}
    obj = {"id": inv_id, "object": "invoice", "customer": customer, "status": "paid",
           "lines": {"object": "list", "data": [line]}}
    if new_api:
        line["pricing"] = {"price_details": {"price": price}}
        obj["parent"] = {"subscription_details": {"subscription": sub_id, "metadata": metadata}}
    else:
        line["price"] = {"id": price}
        obj["subscription"] = sub_id
        obj["subscription_details"] = {"metadata": metadata}
    return obj


def checkout_session(user, *, cs_id="cs_1", mode="payment", payment_status="paid", slug="pack-100",
                     credits=100, customer="cus_1", sub_id=None) -> dict:
    kind = "pack" if mode == "payment" else "plan"
    return {"id": cs_id, "object": "checkout.session", "mode": mode, "payment_status": payment_status,
            "customer": customer, "client_reference_id": str(user.pk), "subscription": sub_id,
            "metadata": {"user_id": str(user.pk), "kind": kind, "slug": slug, "credits": str(credits)}}


def run_concurrently(fn: Callable[[], object], n: int) -> list:
    """Run fn in n threads released together; returns results or raised exceptions."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def worker(i: int) -> None:
        try:
            barrier.wait()
            results[i] = fn()
        except Exception as exc:  # noqa: BLE001 — the caller inspects what each thread got
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def redis_dump(redis_client, pattern: str = "user:*") -> dict:
    """Every key matching pattern with its value (strings and sorted sets)."""
    out = {}
    for key in redis_client.scan_iter(pattern):
        kind = redis_client.type(key)
        if kind == b"string":
            out[key] = redis_client.get(key)
        elif kind == b"zset":
            out[key] = redis_client.zrange(key, 0, -1, withscores=True)
    return out
