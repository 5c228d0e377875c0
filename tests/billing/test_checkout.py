"""Checkout and the billing portal: the exact requests the official SDK sends, received by a loopback
server that speaks Stripe's API (tests/billing/stripe_servers.py: localstripe has neither call)."""

import pytest
from django.contrib.messages import get_messages

from billing.models import BillingAccount
from tests.billing.stripe_servers import StripeRecorder, stripe_at
from tests.live import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture
def stripe_api():
    recorder = StripeRecorder()
    with stripe_at(recorder.url):
        yield recorder
    recorder.close()


def _sent(request: dict) -> tuple[str, str, str]:
    return request["method"], request["path"], request["authorization"]


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_it_sends_the_user_to_stripe_checkout_for_a_plan(signed_in, alice, stripe_api, settings):
    response = signed_in.post("/billing/checkout/plan/premium-1000/")
    assert response.status_code == 302
    assert response["Location"] == "https://checkout.stripe.com/c/pay/cs_test_1"
    [request] = stripe_api.requests
    assert _sent(request) == ("POST", "/v1/checkout/sessions", "Bearer sk_test_cutout")
    uid = str(alice.pk)
    metadata = [("kind", "plan"), ("slug", "premium-1000"), ("credits", "1000")]
    assert request["form"] == [
        ("mode", "subscription"),
        ("line_items[0][price]", "price_premium_1000"), ("line_items[0][quantity]", "1"),
        ("success_url", f"{settings.SITE_URL}/billing/success/"),
        ("cancel_url", f"{settings.SITE_URL}/billing/cancel/"),
        ("client_reference_id", uid),
        ("metadata[user_id]", uid), *[(f"metadata[{k}]", v) for k, v in metadata],
        ("customer_email", "alice@example.com"),
        ("subscription_data[metadata][user_id]", uid),
        *[(f"subscription_data[metadata][{k}]", v) for k, v in metadata],
    ]


def test_it_sends_the_user_to_stripe_checkout_for_a_pack(signed_in, alice, stripe_api, settings):
    BillingAccount.objects.create(user=alice, plan_slug="free", membership="Free", credits=10,
                                  stripe_customer_id="cus_alice")
    response = signed_in.post("/billing/checkout/pack/pack-100/")
    assert response["Location"] == "https://checkout.stripe.com/c/pay/cs_test_1"
    [request] = stripe_api.requests
    assert _sent(request) == ("POST", "/v1/checkout/sessions", "Bearer sk_test_cutout")
    uid = str(alice.pk)
    metadata = [("user_id", uid), ("kind", "pack"), ("slug", "pack-100"), ("credits", "100")]
    assert request["form"] == [
        ("mode", "payment"),
        ("line_items[0][price]", "price_pack_100"), ("line_items[0][quantity]", "1"),
        ("success_url", f"{settings.SITE_URL}/billing/success/"),
        ("cancel_url", f"{settings.SITE_URL}/billing/cancel/"),
        ("client_reference_id", uid),
        *[(f"metadata[{k}]", v) for k, v in metadata],
        ("customer", "cus_alice"),
        *[(f"payment_intent_data[metadata][{k}]", v) for k, v in metadata],
    ]


def test_a_first_pack_purchase_asks_stripe_to_create_the_customer(signed_in, alice, stripe_api):
    signed_in.post("/billing/checkout/pack/pack-100/")
    form = dict(stripe_api.requests[0]["form"])
    assert (form["customer_email"], form["customer_creation"]) == ("alice@example.com", "always")
    assert "customer" not in form


def test_it_refuses_unknown_plans(signed_in, stripe_api):
    response = signed_in.post("/billing/checkout/plan/free/")  # no Price ID: not for sale
    assert response.status_code == 302 and response["Location"] == "/pricing/"
    assert _messages(response) == ["That plan or pack is not available for purchase."]
    response = signed_in.post("/billing/checkout/gift/pack-100/")
    assert response["Location"] == "/pricing/"
    assert _messages(response)[-1] == "That plan or pack is not available for purchase."
    assert stripe_api.requests == []


def test_it_says_billing_is_off_without_stripe_keys(signed_in, settings, stripe_api):
    settings.STRIPE_SECRET_KEY = ""
    response = signed_in.post("/billing/checkout/plan/premium-1000/", follow=True)
    assert "Billing is off on this server" in response.content.decode()
    response = signed_in.post("/billing/portal/")
    assert _messages(response) == ["Billing is off on this server: purchases are not available."]
    assert stripe_api.requests == []


def test_it_reports_stripe_errors(signed_in):
    with stripe_at(f"http://127.0.0.1:{free_port()}"):  # nothing listens there: the SDK cannot connect
        response = signed_in.post("/billing/checkout/plan/premium-1000/")
    assert response["Location"] == "/pricing/"
    assert _messages(response) == ["The payment provider could not be reached, please retry shortly."]


def test_it_requires_login_and_post(client, signed_in, stripe_api):
    assert signed_in.get("/billing/checkout/plan/premium-1000/").status_code == 405
    signed_in.logout()
    response = client.post("/billing/checkout/plan/premium-1000/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert stripe_api.requests == []


def test_it_opens_the_customer_portal(signed_in, alice, stripe_api, settings):
    BillingAccount.objects.create(user=alice, plan_slug="free", membership="Free", credits=10,
                                  stripe_customer_id="cus_alice")
    response = signed_in.post("/billing/portal/")
    assert response["Location"] == "https://billing.stripe.com/p/session/test_1"
    [request] = stripe_api.requests
    assert _sent(request) == ("POST", "/v1/billing_portal/sessions", "Bearer sk_test_cutout")
    assert request["form"] == [("customer", "cus_alice"), ("return_url", f"{settings.SITE_URL}/account/usage/")]


def test_it_has_no_portal_before_the_first_purchase(signed_in, stripe_api):
    response = signed_in.post("/billing/portal/")
    assert _messages(response) == ["There is no subscription to manage yet."]
    assert stripe_api.requests == []
