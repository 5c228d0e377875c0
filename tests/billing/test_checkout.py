from types import SimpleNamespace
from unittest import mock

import pytest
import stripe
from django.contrib.messages import get_messages

from billing.models import BillingAccount

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture
def stripe_checkout():
    with mock.patch("stripe.checkout.Session.create", autospec=True) as create:
        create.return_value = SimpleNamespace(url="https://checkout.stripe.com/c/pay/cs_test_1")
        yield create


@pytest.fixture
def stripe_portal():
    with mock.patch("stripe.billing_portal.Session.create", autospec=True) as create:
        create.return_value = SimpleNamespace(url="https://billing.stripe.com/p/session/test_1")
        yield create


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_it_sends_the_user_to_stripe_checkout_for_a_plan(signed_in, alice, stripe_checkout):
    response = signed_in.post("/billing/checkout/plan/premium-1000/")
    assert response.status_code == 302
    assert response["Location"] == "https://checkout.stripe.com/c/pay/cs_test_1"
    params = stripe_checkout.call_args.kwargs
    assert params["api_key"] == "sk_test_cutout"
    assert params["mode"] == "subscription"
    assert params["line_items"] == [{"price": "price_premium_1000", "quantity": 1}]
    assert params["customer_email"] == "alice@example.com"
    assert params["client_reference_id"] == str(alice.pk)
    metadata = {"user_id": str(alice.pk), "kind": "plan", "slug": "premium-1000", "credits": "1000"}
    assert params["metadata"] == metadata
    assert params["subscription_data"] == {"metadata": metadata}
    assert params["success_url"].endswith("/billing/success/")
    assert params["cancel_url"].endswith("/billing/cancel/")


def test_it_sends_the_user_to_stripe_checkout_for_a_pack(signed_in, alice, stripe_checkout):
    BillingAccount.objects.create(user=alice, plan_slug="free", membership="Free", credits=10,
                                  stripe_customer_id="cus_alice")
    response = signed_in.post("/billing/checkout/pack/pack-100/")
    assert response["Location"] == "https://checkout.stripe.com/c/pay/cs_test_1"
    params = stripe_checkout.call_args.kwargs
    assert params["mode"] == "payment"
    assert params["customer"] == "cus_alice"
    assert "customer_email" not in params
    assert params["payment_intent_data"]["metadata"]["slug"] == "pack-100"


def test_it_refuses_unknown_plans(signed_in, stripe_checkout):
    response = signed_in.post("/billing/checkout/plan/free/")  # no Price ID: not for sale
    assert response.status_code == 302 and response["Location"] == "/pricing/"
    assert _messages(response) == ["That plan or pack is not available for purchase."]
    response = signed_in.post("/billing/checkout/gift/pack-100/")
    assert response["Location"] == "/pricing/"
    assert _messages(response)[-1] == "That plan or pack is not available for purchase."
    stripe_checkout.assert_not_called()


def test_it_says_billing_is_off_without_stripe_keys(signed_in, settings, stripe_checkout, stripe_portal):
    settings.STRIPE_SECRET_KEY = ""
    response = signed_in.post("/billing/checkout/plan/premium-1000/", follow=True)
    assert "Billing is off on this server" in response.content.decode()
    response = signed_in.post("/billing/portal/")
    assert _messages(response) == ["Billing is off on this server: purchases are not available."]
    stripe_checkout.assert_not_called()
    stripe_portal.assert_not_called()


def test_it_reports_stripe_errors(signed_in, stripe_checkout):
    stripe_checkout.side_effect = stripe.APIConnectionError("network down")
    response = signed_in.post("/billing/checkout/plan/premium-1000/")
    assert response["Location"] == "/pricing/"
    assert _messages(response) == ["The payment provider could not be reached, please retry shortly."]


def test_it_requires_login_and_post(client, signed_in, stripe_checkout):
    assert signed_in.get("/billing/checkout/plan/premium-1000/").status_code == 405
    signed_in.logout()
    response = client.post("/billing/checkout/plan/premium-1000/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    stripe_checkout.assert_not_called()


def test_it_opens_the_customer_portal(signed_in, alice, stripe_portal):
    BillingAccount.objects.create(user=alice, plan_slug="free", membership="Free", credits=10,
                                  stripe_customer_id="cus_alice")
    response = signed_in.post("/billing/portal/")
    assert response["Location"] == "https://billing.stripe.com/p/session/test_1"
    assert stripe_portal.call_args.kwargs["customer"] == "cus_alice"


def test_it_has_no_portal_before_the_first_purchase(signed_in, stripe_portal):
    response = signed_in.post("/billing/portal/")
    assert _messages(response) == ["There is no subscription to manage yet."]
    stripe_portal.assert_not_called()
