import json

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
