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


def test_it_shows_the_success_and_cancel_pages(client):
    assert "Thank you" in client.get("/billing/success/").content.decode()
    assert "Nothing was charged" in client.get("/billing/cancel/").content.decode()

