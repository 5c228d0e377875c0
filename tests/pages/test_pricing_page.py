"""/pricing/: plans and packs with their credits; buttons post to billing's checkout endpoints."""

import pytest

from .conftest import invoice_paid, page_read

pytestmark = pytest.mark.django_db


def test_it_lists_plans_and_packs_with_their_credits(client):
    page = page_read(client.get("/pricing/").content.decode())
    for slug, label in (("free", "Free"), ("premium-1000", "Premium-1000"), ("premium-5000", "Premium-5000"),
                        ("pack-100", "100 credits"), ("pack-1000", "1,000 credits")):
        prefix = "plan" if not slug.startswith("pack") else "pack"
        assert label in page.text(f"{prefix}-{slug}")
    html = client.get("/pricing/").content.decode()
    assert html.count('data-testid="plan-credits"') == 3 and html.count('data-testid="pack-credits"') == 2
    assert "1,000</strong> credits per billing window" in html
    assert "5,000</strong> credits per billing window" in html
    assert "100</strong> prepaid credits" in html


def test_it_posts_purchases_to_billings_checkout(client, alice):
    client.force_login(alice)
    html = client.get("/pricing/").content.decode()
    for url in ("/billing/checkout/plan/premium-1000/", "/billing/checkout/plan/premium-5000/",
                "/billing/checkout/pack/pack-100/", "/billing/checkout/pack/pack-1000/"):
        assert f'<form method="post" action="{url}">' in html
    assert "/billing/checkout/plan/free/" not in html  # the free plan has no Stripe price
    assert "csrfmiddlewaretoken" in html


def test_it_asks_visitors_to_sign_up_before_buying(client):
    html = client.get("/pricing/").content.decode()
    assert "/billing/checkout/" not in html
    assert 'href="/accounts/signup/?next=/pricing/"' in html


def test_it_marks_the_current_plan_without_selling_it_again(client, alice):
    invoice_paid(alice, start=1767225600, end=4102444800)  # 2026-01-01 … 2100-01-01
    client.force_login(alice)
    page = page_read(client.get("/pricing/").content.decode())
    assert "Your plan" in page.text("plan-premium-1000")
    assert "buy-plan-premium-1000" not in page.ids
    assert "buy-plan-premium-5000" in page.ids


def test_it_explains_that_billing_is_off_without_stripe_keys(client, alice, settings):
    settings.STRIPE_SECRET_KEY = ""
    client.force_login(alice)
    html = client.get("/pricing/").content.decode()
    page = page_read(html)
    assert page.text("billing-off") == "Billing is off on this server: purchases are not available."
    assert "/billing/checkout/" not in html
    assert html.count("disabled") == 4  # two plans and two packs, none purchasable
    assert "plan-premium-1000" in page.ids and "pack-pack-1000" in page.ids  # the catalogue is still shown


def _prices(page) -> dict[str, str]:
    return {testid: page.text(testid) for testid in page.ids if testid.endswith(("-price", "-per-image"))}


def _card(html: str, testid: str):
    """One card's test ids (price test ids repeat from card to card)."""
    return page_read(html.split(f'data-testid="{testid}"', 1)[1].split("</section>", 1)[0])


def test_it_shows_configured_prices_when_billing_is_off(client, settings, stripe_price_api):
    settings.STRIPE_SECRET_KEY = ""
    html = client.get("/pricing/").content.decode()
    cards = {slug: _card(html, slug)
             for slug in ("plan-free", "plan-premium-1000", "plan-premium-5000", "pack-pack-100", "pack-pack-1000")}
    assert _prices(cards["plan-free"]) == {"plan-price": "$0 / month"}  # not "Free / Free"
    assert _prices(cards["plan-premium-1000"]) == {"plan-price": "$10 / month", "plan-price-per-image": "$0.01 per image"}
    assert _prices(cards["plan-premium-5000"]) == {"plan-price": "€30.50 / month",
                                                   "plan-price-per-image": "€0.0061 per image"}
    assert _prices(cards["pack-pack-100"]) == {"pack-price": "$6", "pack-price-per-image": "$0.06 per image"}
    assert _prices(cards["pack-pack-1000"]) == {"pack-price": "Price on request"}
    assert stripe_price_api.requests == []  # billing is off: Stripe is never asked


def test_it_shows_stripes_prices_fetched_once_and_cached(client, stripe_price_api):
    first = client.get("/pricing/").content.decode()
    second = client.get("/pricing/").content.decode()
    assert first == second
    assert sorted((r["method"], r["path"], r["authorization"]) for r in stripe_price_api.requests) == [
        ("GET", f"/v1/prices/{price_id}", "Bearer sk_test_pages")  # once each, not per view
        for price_id in ("price_pack_100", "price_pack_1000", "price_premium_1000", "price_premium_5000")]
    assert _prices(_card(first, "plan-premium-5000")) == {"plan-price": "$29 / month",  # Stripe's, not the configured €30.50
                                                          "plan-price-per-image": "$0.0058 per image"}
    assert _prices(_card(first, "pack-pack-1000")) == {"pack-price": "$35", "pack-price-per-image": "$0.035 per image"}
    assert 'data-testid="plan-price" data-source="stripe"' in first


def test_it_falls_back_to_configured_prices_when_stripe_fails_and_waits_before_asking_again(
        client, stripe_price_api):
    stripe_price_api.fail_with = 500
    first = client.get("/pricing/").content.decode()
    asked = [request["path"] for request in stripe_price_api.requests]
    assert set(asked) == {"/v1/prices/price_pack_100"}  # the first Price failed (the SDK's own retries)
    client.get("/pricing/")
    assert len(stripe_price_api.requests) == len(asked)  # the failure is remembered for a while
    assert _prices(_card(first, "pack-pack-100")) == {"pack-price": "$6", "pack-price-per-image": "$0.06 per image"}
    assert "buy-pack-pack-100" not in first and "/accounts/signup/?next=/pricing/" in first  # still purchasable


def test_it_shows_the_success_and_cancel_pages(client):
    assert "Thank you" in client.get("/billing/success/").content.decode()
    assert "Nothing was charged" in client.get("/billing/cancel/").content.decode()

