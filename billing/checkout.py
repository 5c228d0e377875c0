"""Checkout and portal services: which Stripe Price a purchase maps to, and the URLs to send users to."""

from django.conf import settings
from django.urls import reverse

from billing import stripe_client
from billing.errors import BillingError, PlanUnknown
from billing.plans import pack_get, plan_get
from billing.state import account_get_or_create

KINDS = ("plan", "pack")


class NoCustomerYet(BillingError):
    status = 400
    message = "There is no subscription to manage yet."


def _absolute(name: str) -> str:
    return settings.SITE_URL + reverse(name)


def checkout_url_for(*, user, kind: str, slug: str) -> str:
    """The Stripe Checkout URL for buying plan or pack `slug` (subscription or one-time payment)."""
    try:
        item = plan_get(slug) if kind == "plan" else pack_get(slug) if kind == "pack" else None
    except KeyError:
        item = None
    if item is None or not item.price_id:
        raise PlanUnknown("That plan or pack is not available for purchase.")
    account = account_get_or_create(user_id=user.pk)
    metadata = {"user_id": str(user.pk), "kind": kind, "slug": slug, "credits": str(item.credits)}
    return stripe_client.checkout_session_create(
        mode="subscription" if kind == "plan" else "payment", price_id=item.price_id,
        customer_id=account.stripe_customer_id, customer_email=user.email,
        client_reference_id=str(user.pk), metadata=metadata,
        success_url=_absolute("pages:checkout_success"), cancel_url=_absolute("pages:checkout_cancel"),
    )


def portal_url_for(*, user) -> str:
    account = account_get_or_create(user_id=user.pk)
    if not account.stripe_customer_id:
        raise NoCustomerYet()
    return stripe_client.portal_session_create(
        customer_id=account.stripe_customer_id, return_url=_absolute("pages:usage")
    )
