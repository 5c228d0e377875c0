import json
from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured

from billing.plans import DEFAULT_PLANS, packs_parse, plans_parse, rate_checked


def test_it_has_defaults_with_prices_from_the_environment():
    plans = plans_parse("", environ={"STRIPE_PRICE_PREMIUM_1000": "price_abc"})
    assert [p.label for p in plans] == [p["label"] for p in DEFAULT_PLANS]
    assert plans[0].slug == "free" and plans[0].price_id == ""
    assert plans[1].price_id == "price_abc"
    assert all(pack.credits > 0 for pack in packs_parse("", environ={}))


def test_it_reads_plans_from_json():
    raw = json.dumps([{"slug": "free", "credits": 3},
                      {"slug": "premium-7", "label": "Premium-7", "credits": 7, "price_id": "price_7",
                       "rate_limit": "2 per second"}])
    free, premium = plans_parse(raw, environ={})
    assert (free.label, free.credits, free.rate_limit) == ("free", 3, "60/minute")
    assert (premium.label, premium.price_id, premium.rate_limit) == ("Premium-7", "price_7", "2 per second")


@pytest.mark.parametrize("raw, message", [
    ("not json", "BILLING_PLANS must be a JSON list of objects"),
    ("{}", "must be a non-empty JSON list of objects"),
    ('[{"slug": "premium-1", "credits": 1}]', "must contain the free plan 'free'"),
    ('[{"slug": "free"}]', "is missing 'credits'"),
    ('[{"slug": "free", "credits": "ten"}]', "'credits' must be an integer"),
    ('[{"slug": "free", "credits": -1}]', "must be at least 0"),
    ('[{"slug": "Free Plan", "credits": 1}]', "must be lower-case letters"),
    ('[{"slug": "free", "credits": 1}, {"slug": "free", "credits": 2}]', "duplicate slug"),
    ('[{"slug": "free", "credits": 1, "rate_limit": "fast"}]', "rate_limit of 'free' must look like"),
])
def test_it_refuses_bad_plan_configuration(raw, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        plans_parse(raw, environ={})


def test_it_refuses_bad_packs_and_rates():
    with pytest.raises(ImproperlyConfigured, match="credits of 'p' must be at least 1"):
        packs_parse('[{"slug": "p", "credits": 0}]', environ={})
    with pytest.raises(ImproperlyConfigured, match="BILLING_ANON_RATE_LIMIT"):
        rate_checked("BILLING_ANON_RATE_LIMIT", "lots")


def test_it_gives_the_built_in_catalogue_display_prices():
    plans, packs = plans_parse("", environ={}), packs_parse("", environ={})
    assert [(p.slug, p.price, p.currency, p.interval) for p in plans[:2]] == [
        ("free", Decimal(0), "USD", "month"), ("premium-1000", Decimal(9), "USD", "month")]
    assert all(item.price is not None and item.price > 0 for item in (*plans[1:], *packs))


def test_it_reads_display_prices_from_json():
    raw = json.dumps([{"slug": "free", "credits": 3},
                      {"slug": "pro", "credits": 7, "price": "12.50", "currency": "eur", "interval": "year"},
                      {"slug": "unpriced", "credits": 9}])
    free, pro, unpriced = plans_parse(raw, environ={})
    assert free.price == Decimal(0)  # the free plan is free even when the JSON does not say so
    assert (pro.price, pro.currency, pro.interval) == (Decimal("12.50"), "EUR", "year")
    assert unpriced.price is None
    (pack,) = packs_parse('[{"slug": "p", "credits": 10, "price": 4}]', environ={})
    assert (pack.price, pack.currency) == (Decimal(4), "USD")


@pytest.mark.parametrize("extra, message", [
    ({"price": "nine"}, "price of 'pro' must be a number"),
    ({"price": True}, "price of 'pro' must be a number"),
    ({"price": -1}, "price of 'pro' must be between 0"),
    ({"price": "NaN"}, "price of 'pro' must be between 0"),
    ({"price": 1, "currency": "dollars"}, "currency of 'pro' must be a 3-letter ISO code"),
    ({"price": 1, "interval": "week"}, "interval of 'pro' must be one of month, year"),
])
def test_it_refuses_bad_display_prices(extra, message):
    raw = json.dumps([{"slug": "free", "credits": 1}, {"slug": "pro", "credits": 5} | extra])
    with pytest.raises(ImproperlyConfigured, match=message):
        plans_parse(raw, environ={})
