"""A subscription's whole life at a server that speaks Stripe's API: localstripe (a stateful fake Stripe,
run as a subprocess on loopback) holds the customer, plans, subscription and invoices; the official
SDK talks to it over HTTP; localstripe delivers its own SIGNED events to Cutout's webhook endpoint on a
live server, and the plan and credits follow exactly once.

Every event is delivered twice (two registrations of the same endpoint), as Stripe's retries and
overlapping deliveries do: the ledger must still hold one grant per paid invoice.

What localstripe does not do, and how the test stands in for it: it has no Checkout, so the customer
is linked to the user as checkout.session.completed would link it; it sends invoice.payment_succeeded
(not invoice.paid) and no customer.subscription.updated, so a renewal is a second invoice paid for
the subscription, and a plan change is seen through the next invoice's line (its Plan = Price id).
"""


import pytest
import stripe

from billing.models import BillingAccount, LedgerEntry, StripeEvent, Subscription
from tests.billing.conftest import WEBHOOK_SECRET
from tests.billing.stripe_servers import localstripe_running, localstripe_webhook, stripe_at
from tests.live import asgi_server, poll_until

pytestmark = pytest.mark.django_db(transaction=True)


class Localstripe:
    def __init__(self, url: str, log) -> None:
        self.url = url
        self.log = log

    def delivered(self, event_type: str) -> int:
        """How many deliveries of `event_type` Cutout answered with a 2xx, by localstripe's own log."""
        return self.log.read_text().count(f'webhook "{event_type}" successfully delivered')

    def refused(self) -> list[str]:
        return [line for line in self.log.read_text().splitlines() if "failed" in line and "webhook" in line]


@pytest.fixture
def localstripe(tmp_path, settings):
    log = tmp_path / "localstripe.log"
    with localstripe_running(log) as url, stripe_at(url), asgi_server(websockets=False) as site:
        for name in ("first", "again"):
            localstripe_webhook(url, name=name, target=f"{site}/billing/webhook/", secret=WEBHOOK_SECRET)
        yield Localstripe(url, log)




def _deliveries(localstripe: Localstripe, event_type: str, count: int) -> None:
    poll_until(lambda: localstripe.delivered(event_type) >= count,
           f"{count} deliveries of {event_type}: {localstripe.log.read_text()[-2000:]}")


def _grants(user) -> list[tuple[str, int]]:
    rows = LedgerEntry.objects.filter(user=user, kind="plan_grant").order_by("id")
    return [(row.reference, row.credits) for row in rows]


def _account(user) -> tuple:
    account = BillingAccount.objects.get(user=user)
    return account.plan_slug, account.credits, account.period_start, account.period_end


def test_a_subscription_is_created_renewed_changed_and_cancelled_at_localstripe(localstripe, alice, settings):
    key = {"api_key": settings.STRIPE_SECRET_KEY}
    product = stripe.Product.create(name="Cutout Premium", **key)
    for plan_id, amount in (("price_premium_1000", 900), ("price_premium_20000", 4900)):
        stripe.Plan.create(id=plan_id, product=product.id, amount=amount, currency="usd", interval="month", **key)
    card = stripe.PaymentMethod.create(type="card", card={"number": "4242424242424242", "exp_month": 12,
                                                          "exp_year": 2034, "cvc": "123"}, **key)
    customer = stripe.Customer.create(email=alice.email, payment_method=card.id,
                                      invoice_settings={"default_payment_method": card.id}, **key)
    BillingAccount.objects.create(user=alice, plan_slug="free", membership="Free", credits=10,
                                  stripe_customer_id=customer.id)  # what checkout.session.completed does

    # created: the subscription and its first invoice, paid with the card
    metadata = {"user_id": str(alice.pk), "kind": "plan", "slug": "premium-1000", "credits": "1000"}
    sub = stripe.Subscription.create(customer=customer.id, items=[{"plan": "price_premium_1000"}],
                                     metadata=metadata, **key)
    first_invoice = sub.latest_invoice
    window = (sub.current_period_start, sub.current_period_end - 1)
    _deliveries(localstripe, "customer.subscription.created", 2)
    _deliveries(localstripe, "invoice.payment_succeeded", 2)
    assert _account(alice) == ("premium-1000", 1000, *window)
    assert _grants(alice) == [(first_invoice, 1000)]
    row = Subscription.objects.get(stripe_id=sub.id)
    assert (row.user_id, row.status, row.plan_slug) == (alice.pk, "active", "premium-1000")

    # renewed: the next invoice of the subscription, paid
    renewal = stripe.Invoice.create(customer=customer.id, subscription=sub.id, **key)
    assert stripe.Invoice.pay(renewal.id, **key).status == "paid"
    _deliveries(localstripe, "invoice.payment_succeeded", 4)
    assert _grants(alice) == [(first_invoice, 1000), (renewal.id, 1000)]
    assert _account(alice)[:2] == ("premium-1000", 1000)

    # changed: to the bigger plan; its invoice carries the new Plan
    stripe.Subscription.modify(sub.id, items=[{"id": sub["items"]["data"][0]["id"], "plan": "price_premium_20000"}],
                               **key)
    upgrade = stripe.Invoice.create(customer=customer.id, subscription=sub.id, **key)
    stripe.Invoice.pay(upgrade.id, **key)
    _deliveries(localstripe, "invoice.payment_succeeded", 6)
    assert _grants(alice) == [(first_invoice, 1000), (renewal.id, 1000), (upgrade.id, 20000)]
    assert _account(alice) == ("premium-20000", 20000, *window)

    # cancelled: back to the free plan and the calendar month
    assert stripe.Subscription.delete(sub.id, **key).status == "canceled"
    _deliveries(localstripe, "customer.subscription.deleted", 2)
    assert _account(alice) == ("free", 10, None, None)
    assert Subscription.objects.get(stripe_id=sub.id).status == "canceled"
    assert len(_grants(alice)) == 3  # nothing granted twice, nothing after the cancellation

    # every event recorded once and applied, though each arrived twice; no delivery refused
    events = StripeEvent.objects.all()
    assert events.count() == len({event.event_id for event in events})
    assert not events.filter(processed_at__isnull=True).exists()
    assert localstripe.refused() == []
