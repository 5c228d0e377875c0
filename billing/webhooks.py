"""Stripe webhook processing.

Safety comes in layers, so replays, concurrent duplicates and out-of-order delivery are harmless:

1. the event id is recorded once (unique); an event already processed is a no-op;
2. every grant is a ledger row with a unique idempotency key, and its Redis side (prepaid INCRBY)
   is guarded by a marker key in the same Lua call — two workers racing on one event grant once;
3. state writes are conditional UPDATEs: a subscription only takes status/plan from an event newer
   than the one that last wrote it, a canceled subscription stays canceled, and the account's
   billing window only moves forward.

A handler that raises leaves the event unprocessed, so Stripe's retry applies it later.
"""

import logging
from collections.abc import Callable

from django.contrib.auth import get_user_model
from django.db import IntegrityError
from django.db.models import Q
from django.utils import timezone

from billing import ledger, stripe_client
from billing.errors import WebhookNotReady
from billing.models import BillingAccount, StripeEvent, Subscription
from billing.plans import Plan, pack_by_price, pack_get, plan_by_price, plan_free, plan_get
from billing.state import account_get_or_create, account_write, prepaid_grant_apply

log = logging.getLogger(__name__)

ACTIVE = {"active", "trialing"}
LAPSED = {"past_due", "unpaid", "paused"}  # keep the window, fall back to the free allowance


def webhook_handle(*, payload: bytes, signature: str | None) -> str:
    """Verify and apply one delivery. Returns "processed", "duplicate" or "ignored"."""
    event = stripe_client.webhook_event_parse(payload=payload, signature=signature)
    with ledger.db_serialized():
        record, created = _event_record(event)
        if not created and record.processed_at is not None:
            return "duplicate"
        handler = HANDLERS.get(event["type"])
        if handler is not None:
            handler(event)
        unprocessed = StripeEvent.objects.filter(pk=record.pk, processed_at__isnull=True)
        unprocessed.update(processed_at=timezone.now())
    return "processed" if handler else "ignored"


def _event_record(event: dict) -> tuple[StripeEvent, bool]:
    defaults = {"type": event["type"], "created": int(event.get("created") or 0),
                "livemode": bool(event.get("livemode"))}
    try:
        return StripeEvent.objects.get_or_create(event_id=event["id"], defaults=defaults)
    except IntegrityError:  # a concurrent delivery of the same event inserted it first
        return StripeEvent.objects.get(event_id=event["id"]), False


# --- finding the user --------------------------------------------------------------------------

def _get(obj: dict | None, *path: str):
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _user_exists(uid) -> int | None:
    try:
        uid = int(uid)
    except (TypeError, ValueError):
        return None
    return uid if get_user_model().objects.filter(pk=uid).exists() else None


def _user_for(obj: dict, *, subscription_id: str | None = None, metadata_paths=()) -> int | None:
    for path in (("metadata", "user_id"), ("client_reference_id",), *metadata_paths):
        uid = _user_exists(_get(obj, *path))
        if uid:
            return uid
    if subscription_id:
        sub = Subscription.objects.filter(stripe_id=subscription_id).first()
        if sub:
            return sub.user_id
    customer = obj.get("customer")
    if isinstance(customer, str):
        account = BillingAccount.objects.filter(stripe_customer_id=customer).first()
        if account:
            return account.user_id
    return None


def _user_required(obj: dict, **kwargs) -> int:
    uid = _user_for(obj, **kwargs)
    if uid is None:
        log.warning("%s %s: no user linked yet; Stripe will retry", obj.get("object"), obj.get("id"))
        raise WebhookNotReady()
    return uid


def _customer_link(user_id: int, customer: str | None) -> None:
    if not customer:
        return
    account = account_get_or_create(user_id=user_id)
    if account.stripe_customer_id != customer:
        try:
            BillingAccount.objects.filter(pk=account.pk).update(stripe_customer_id=customer)
        except IntegrityError:
            log.error("stripe customer %s belongs to another user; not linked to %s", customer, user_id)


# --- account state -----------------------------------------------------------------------------

def _account_set(*, user_id: int, plan: Plan, period: tuple[int, int] | None, clear: bool = False) -> bool:
    """Write plan + window; the window only moves forward. Returns False when the write was stale."""
    fields: dict = {"plan_slug": plan.slug, "membership": plan.label, "credits": plan.credits}
    if clear:
        fields.update(period_start=None, period_end=None)
    elif period is not None:
        fields.update(period_start=period[0], period_end=period[1])
    return account_write(user_id=user_id, fields=fields,
                         not_before=None if clear or period is None else period[0])


def _period(sub: dict) -> tuple[int, int] | None:
    """Newer API versions put the period on subscription items, older ones on the subscription."""
    item = (_get(sub, "items", "data") or [None])[0] or {}
    start = item.get("current_period_start") or sub.get("current_period_start")
    end = item.get("current_period_end") or sub.get("current_period_end")
    if not start or not end:
        return None
    return int(start), int(end) - 1  # stored end = last second of the window (SPEC periodEndUnix)


def _price_id(item: dict) -> str:
    """The Price of a subscription item or invoice line, whatever the API version: `price`, the newer
    `pricing.price_details.price`, or a legacy `plan` (a Plan's id is a valid Price id at Stripe)."""
    return (_get(item, "price", "id") or _get(item, "pricing", "price_details", "price")
            or _get(item, "plan", "id") or "")


def _plan_of(price_id: str | None, metadata: dict | None) -> Plan | None:
    plan = plan_by_price(price_id or "")
    if plan is None and metadata and metadata.get("kind") == "plan":
        try:
            plan = plan_get(metadata.get("slug", ""))
        except KeyError:
            plan = None
    return plan


def _has_other_active(user_id: int, stripe_id: str) -> bool:
    others = Subscription.objects.filter(user_id=user_id, status__in=ACTIVE)
    return others.exclude(stripe_id=stripe_id).exists()


def _subscription_row(stripe_id: str, user_id: int, status: str = "") -> Subscription:
    try:
        row, _ = Subscription.objects.get_or_create(
            stripe_id=stripe_id, defaults={"user_id": user_id, "status": status}
        )
    except IntegrityError:  # a concurrent event for the same subscription created it first
        row = Subscription.objects.get(stripe_id=stripe_id)
    return row


# --- handlers ----------------------------------------------------------------------------------

def _checkout_completed(event: dict) -> None:
    session = event["data"]["object"]
    uid = _user_required(session)
    _customer_link(uid, session.get("customer"))
    if session.get("mode") == "subscription" and session.get("subscription"):
        _subscription_row(session["subscription"], uid, status="incomplete")
    if session.get("mode") == "payment" and session.get("payment_status") in ("paid", "no_payment_required"):
        _pack_grant(uid, session)


def _checkout_async_succeeded(event: dict) -> None:
    session = event["data"]["object"]
    uid = _user_required(session)
    if session.get("mode") == "payment":
        _customer_link(uid, session.get("customer"))
        _pack_grant(uid, session)


def _checkout_async_failed(event: dict) -> None:
    session = event["data"]["object"]
    log.info("checkout session %s: delayed payment failed, nothing granted", session.get("id"))


def _pack_grant(uid: int, session: dict) -> None:
    metadata = session.get("metadata") or {}
    pack = None
    if metadata.get("kind") == "pack":
        try:
            pack = pack_get(metadata.get("slug", ""))
        except KeyError:
            pack = None
    pack = pack or pack_by_price(metadata.get("price_id", ""))
    credits = int(metadata.get("credits") or (pack.credits if pack else 0))
    if credits <= 0:
        log.error("checkout session %s: unknown pack %r, nothing granted", session.get("id"), metadata)
        return
    key = f"stripe:checkout:{session['id']}"
    # Ledger first (durable), then Redis; both are idempotent on the same key, so a retry finishes.
    ledger.pack_grant_record(user_id=uid, idempotency_key=key, credits=credits, reference=session["id"])
    prepaid_grant_apply(user_id=uid, idempotency_key=key, credits=credits)


def _subscription_changed(event: dict) -> None:
    sub = event["data"]["object"]
    created = int(event.get("created") or 0)
    deleted = event["type"] == "customer.subscription.deleted" or sub.get("status") == "canceled"
    uid = _user_required(sub, subscription_id=sub["id"])
    _customer_link(uid, sub.get("customer"))
    item = (_get(sub, "items", "data") or [None])[0] or {}
    price_id = _price_id(item)
    plan = _plan_of(price_id, sub.get("metadata"))
    period = _period(sub)
    row = _subscription_row(sub["id"], uid)
    fields: dict = {"plan_slug": plan.slug if plan else row.plan_slug, "price_id": price_id or row.price_id}
    if period:
        fields.update(current_period_start=period[0], current_period_end=period[1] + 1)

    rows = Subscription.objects.filter(pk=row.pk)
    if deleted:
        # canceled is terminal: it wins over anything, and nothing after it reopens the subscription
        changed = rows.exclude(status="canceled").update(
            status="canceled", state_event_created=created, **fields)
    else:
        changed = rows.filter(state_event_created__lte=created).exclude(status="canceled").update(
            status=sub.get("status", ""), state_event_created=created, **fields)
    if not changed:
        log.info("subscription %s: stale event %s ignored", sub["id"], event["id"])
        return

    status = "canceled" if deleted else sub.get("status", "")
    if status == "canceled":
        if not _has_other_active(uid, sub["id"]):
            _account_set(user_id=uid, plan=plan_free(), period=None, clear=True)
    elif status in ACTIVE and plan is not None:
        _account_set(user_id=uid, plan=plan, period=period)
    elif status in LAPSED:
        _account_set(user_id=uid, plan=plan_free(), period=period)


def _invoice_subscription(invoice: dict) -> str | None:
    sub = invoice.get("subscription") or _get(invoice, "parent", "subscription_details", "subscription")
    return sub if isinstance(sub, str) else _get(sub, "id")


def _invoice_line(invoice: dict) -> dict:
    lines = _get(invoice, "lines", "data") or []
    for line in lines:
        if _get(line, "period", "start"):
            return line
    return {}


def _invoice_paid(event: dict) -> None:
    invoice = event["data"]["object"]
    sub_id = _invoice_subscription(invoice)
    if not sub_id:
        return  # a one-off invoice; packs are granted from checkout sessions
    metadata_paths = (("subscription_details", "metadata", "user_id"),
                      ("parent", "subscription_details", "metadata", "user_id"))
    uid = _user_required(invoice, subscription_id=sub_id, metadata_paths=metadata_paths)
    line = _invoice_line(invoice)
    start, end = _get(line, "period", "start"), _get(line, "period", "end")
    if not start or not end:
        log.error("invoice %s: no billing period on its lines", invoice.get("id"))
        return
    period = (int(start), int(end) - 1)
    price_id = _price_id(line)
    row = Subscription.objects.filter(stripe_id=sub_id).first()
    plan = plan_by_price(price_id) or (plan_get(row.plan_slug) if row and row.plan_slug else None)
    if plan is None:
        log.error("invoice %s: price %r matches no plan", invoice.get("id"), price_id)
        return
    if row is None:
        row = _subscription_row(sub_id, uid)
    if row.status == "canceled":
        log.info("invoice %s paid for canceled subscription %s: window not reopened", invoice["id"], sub_id)
        return
    Subscription.objects.filter(pk=row.pk).filter(
        Q(current_period_start__isnull=True) | Q(current_period_start__lte=period[0])
    ).update(current_period_start=period[0], current_period_end=period[1] + 1, plan_slug=plan.slug)
    ledger.plan_grant_record(user_id=uid, idempotency_key=f"stripe:invoice:{invoice['id']}",
                             credits=plan.credits, period_start=period[0], period_end=period[1],
                             reference=invoice["id"])
    _account_set(user_id=uid, plan=plan, period=period)


def _invoice_failed(event: dict) -> None:
    invoice = event["data"]["object"]
    sub_id = _invoice_subscription(invoice)
    row = Subscription.objects.filter(stripe_id=sub_id).first() if sub_id else None
    if row is None or row.status == "canceled":
        return
    created = int(event.get("created") or 0)
    changed = Subscription.objects.filter(pk=row.pk, state_event_created__lte=created).exclude(
        status="canceled").update(status="past_due", state_event_created=created)
    if changed:
        account = account_get_or_create(user_id=row.user_id)
        start, end = account.period_start, account.period_end  # set together, or both None
        period = (start, end) if start is not None and end is not None else None
        _account_set(user_id=row.user_id, plan=plan_free(), period=period)


HANDLERS: dict[str, Callable[[dict], None]] = {
    "checkout.session.completed": _checkout_completed,
    "checkout.session.async_payment_succeeded": _checkout_async_succeeded,
    "checkout.session.async_payment_failed": _checkout_async_failed,
    "customer.subscription.created": _subscription_changed,
    "customer.subscription.updated": _subscription_changed,
    "customer.subscription.deleted": _subscription_changed,
    "invoice.paid": _invoice_paid,
    # Stripe sends it beside invoice.paid for a charged invoice (and older integrations and stateful fakes
    # such as localstripe send only it): the grant is keyed on the invoice, so the pair grants once.
    "invoice.payment_succeeded": _invoice_paid,
    "invoice.payment_failed": _invoice_failed,
}
